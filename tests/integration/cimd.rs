//! Client ID Metadata Documents through the entry point, with documents
//! served by an in-process fetcher.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use parallel_oauth_provider::clients::cimd::{Fetch, Fetched};
use parallel_oauth_provider::Config;

use crate::*;

/// A served document: its body and `Cache-Control`.
type Served = (String, Option<String>);

#[derive(Clone, Default)]
struct Documents {
    docs: Rc<RefCell<HashMap<String, Served>>>,
    fetches: Rc<RefCell<usize>>,
}

impl Fetch for Documents {
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Fetched, String>> + 'a>> {
        *self.fetches.borrow_mut() += 1;
        let found = self.docs.borrow().get(url).cloned();
        Box::pin(async move {
            match found {
                Some((body, cache_control)) => Ok(Fetched { status: 200, cache_control, body: body.into_bytes() }),
                None => Ok(Fetched { status: 404, cache_control: None, body: Vec::new() }),
            }
        })
    }
}

fn server(docs: &Documents) -> Server {
    let mut s = Server::new();
    s.provider = parallel_oauth_provider::Provider::new(Config::default(), SECRET, None)
        .unwrap()
        .with_fetcher(Box::new(docs.clone()));
    s
}

fn publish(docs: &Documents, url: &str, redirect_uris: &[&str], name: &str, cache: Option<&str>) {
    let body = serde_json::json!({
        "client_id": url, "client_name": name, "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
    });
    docs.docs.borrow_mut().insert(url.to_string(), (body.to_string(), cache.map(str::to_string)));
}

fn flow(s: &Server, client_id: &str, redirect: &str, extra: &str, token_extra: &str) -> Response {
    let (verifier, challenge) = pkce(redirect);
    let code = code_for(s, &auth_query(client_id, redirect, &challenge, extra));
    s.token(&format!("{}{token_extra}", token_body(&code, client_id, redirect, &verifier)))
}

#[test]
fn metadata_advertises_documents_only_with_a_fetcher() {
    let s = server(&Documents::default());
    assert_eq!(json(&s.get("/.well-known/oauth-authorization-server"))["client_id_metadata_document_supported"], true);
    let plain = Server::new();
    assert_eq!(
        json(&plain.get("/.well-known/oauth-authorization-server"))["client_id_metadata_document_supported"],
        false
    );
}

#[test]
fn claude_code_document_with_portless_loopback_uris() {
    let docs = Documents::default();
    let id = "https://claude.ai/oauth/claude-code-client-metadata";
    publish(&docs, id, &["http://localhost/callback", "http://127.0.0.1/callback"], "Claude Code", None);
    let s = server(&docs);
    let r = flow(
        &s,
        id,
        "http://localhost:53682/callback",
        "&resource=https%3A%2F%2Fmcp.example%2F",
        "&resource=https%3A%2F%2Fmcp.example",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r)["access_token"], KEY);
    assert_eq!(json(&r)["resource"], "https://mcp.example/");
}

#[test]
fn vscode_and_chatgpt_documents() {
    let docs = Documents::default();
    let vscode = "https://vscode.dev/oauth/client-metadata.json";
    publish(
        &docs,
        vscode,
        &["https://vscode.dev/redirect", "http://127.0.0.1/"],
        "Visual Studio Code",
        Some("max-age=3600"),
    );
    let chatgpt = "https://chatgpt.com/oauth/client-metadata.json";
    publish(&docs, chatgpt, &["https://chatgpt.com/connector/oauth/abc123"], "ChatGPT", None);
    let s = server(&docs);
    assert_eq!(json(&flow(&s, vscode, "http://127.0.0.1:33418/", "", ""))["access_token"], KEY);
    assert_eq!(json(&flow(&s, vscode, "https://vscode.dev/redirect", "", ""))["access_token"], KEY);
    let r = flow(
        &s,
        chatgpt,
        "https://chatgpt.com/connector/oauth/abc123",
        "&resource=https%3A%2F%2Fmcp.example%2Fmcp",
        "&resource=https%3A%2F%2Fmcp.example%2Fmcp",
    );
    assert_eq!(json(&r)["access_token"], KEY);
}

#[test]
fn consent_page_shows_the_document_name_as_unverified() {
    let docs = Documents::default();
    let id = "https://app.example/client.json";
    publish(&docs, id, &["https://app.example/cb"], "<b>Totally Official</b>", None);
    let s = server(&docs);
    let (_, challenge) = pkce("x");
    let page = s.consent_page(&auth_query(id, "https://app.example/cb", &challenge, ""), &mut Jar::default());
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("&lt;b&gt;Totally Official&lt;/b&gt;"));
    assert!(html.contains("unverified"));
}

#[test]
fn documents_are_cached_per_cache_control() {
    let docs = Documents::default();
    let cached = "https://a.example/cached.json";
    let uncached = "https://a.example/uncached.json";
    publish(&docs, cached, &["https://a.example/cb"], "A", Some("public, max-age=600"));
    publish(&docs, uncached, &["https://a.example/cb"], "A", Some("no-store"));
    let s = server(&docs);
    let (_, challenge) = pkce("x");
    let authorize = |id: &str| s.authorize(&auth_query(id, "https://a.example/cb", &challenge, ""));
    for _ in 0..3 {
        assert_eq!(authorize(cached).status, 200);
    }
    assert_eq!(*docs.fetches.borrow(), 1);
    s.now.set(T0 + 601);
    authorize(cached);
    assert_eq!(*docs.fetches.borrow(), 2);
    for _ in 0..2 {
        authorize(uncached);
    }
    assert_eq!(*docs.fetches.borrow(), 4);
}

#[test]
fn bad_documents_are_error_pages_never_redirects() {
    let docs = Documents::default();
    let id = "https://a.example/client.json";
    // Its client_id is another URL.
    docs.docs.borrow_mut().insert(
        id.into(),
        (
            r#"{"client_id":"https://evil.example/x","client_name":"A","redirect_uris":["https://a.example/cb"]}"#
                .into(),
            None,
        ),
    );
    let s = server(&docs);
    let (_, challenge) = pkce("x");
    for q in [
        auth_query(id, "https://a.example/cb", &challenge, ""),
        auth_query("https://a.example/missing.json", "https://a.example/cb", &challenge, ""),
    ] {
        let r = s.authorize(&q);
        assert_eq!(r.status, 400);
        assert!(r.header("location").is_none());
    }
    // A valid document whose redirect_uris do not include the one sent.
    publish(&docs, id, &["https://a.example/cb"], "A", None);
    let r = s.authorize(&auth_query(id, "https://evil.example/cb", &challenge, ""));
    assert_eq!((r.status, r.header("location")), (400, None));
}

#[test]
fn document_client_id_without_a_fetcher_is_refused() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let r = s.authorize(&auth_query("https://a.example/client.json", "https://a.example/cb", &challenge, ""));
    assert_eq!((r.status, r.header("location")), (400, None));
}
