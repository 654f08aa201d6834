//! Client ID Metadata Documents obey the same redirect rules.

#[allow(unused_imports)]
use super::*;

struct DocumentFetch(String);

impl parallel_oauth_provider::clients::cimd::Fetch for DocumentFetch {
    fn fetch<'a>(
        &'a self,
        _url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<parallel_oauth_provider::clients::cimd::Fetched, String>> + 'a>> {
        let body = self.0.clone().into_bytes();
        Box::pin(async move {
            Ok(parallel_oauth_provider::clients::cimd::Fetched {
                status: 200,
                cache_control: Some("no-store".into()),
                body,
            })
        })
    }
}

#[test]
fn client_metadata_documents_obey_the_same_redirect_rules() {
    let id = "https://app.example/oauth/client.json";
    let (_, challenge) = pkce("x");
    // The document's client_id and redirect URI, and the redirect_uri sent.
    for (client_id, registered, uri) in [
        (id, "javascript:alert(1)", "javascript:alert(1)"),
        (id, "https://app.example@evil.example/cb", "https://app.example@evil.example/cb"),
        (id, "http://evil.example/cb", "http://evil.example/cb"),
        ("https://evil.example/doc", "https://evil.example/cb", "https://evil.example/cb"),
        (id, "https://app.example/cb", "https://evil.example/cb"),
    ] {
        let doc = serde_json::json!({"client_id": client_id, "client_name": "A", "redirect_uris": [registered]});
        let provider = Provider::new(Config::default(), SECRET, None)
            .unwrap()
            .with_fetcher(Box::new(DocumentFetch(doc.to_string())));
        let store = MemoryStore::new();
        let r = send_with(&provider, &store, authorize_request(&auth_query(id, uri, &challenge, "")), T0, 1);
        assert_page(&r, 400, &format!("{doc}"));
    }
}
