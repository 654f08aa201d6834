//! Property tests over each parser of attacker input, one function at a time.

#[allow(unused_imports)]
use super::fuzz_handler::*;
#[allow(unused_imports)]
use super::*;

pub(crate) fn test_keys() -> parallel_oauth_provider::crypto::seal::Keys {
    parallel_oauth_provider::crypto::seal::Keys::derive(
        &parallel_oauth_provider::crypto::secret::Secret::new(SECRET).unwrap(),
        None,
    )
}

proptest! {
    #![proptest_config(proptest_config())]

    /// Cookie decoding: any Cookie header, for either of our cookies.
    #[test]
    fn cookie_decoding_never_panics(header in prop_oneof!["[ -~]{0,200}", ".{0,100}", "(__Host-parallel-oauth-key=[A-Za-z0-9_=%;-]{0,150}; ?){1,3}"]) {
        use parallel_oauth_provider::pages::cookie;
        let request = Request::new("GET", url("/authorize")).with_header("cookie", &header);
        prop_assert!(cookie::remembered(&request, &test_keys(), T0).is_none());
        let (token, set) = cookie::csrf_token(&request, &mut parallel_oauth_provider::crypto::entropy::Entropy::new([1; 32]));
        prop_assert!(cookie::is_csrf_token(&token));
        if let Some(set) = set {
            prop_assert!(!set.bytes().any(|b| b < 0x20));
        }
        let _ = request.cookie(CSRF_COOKIE);
    }

    /// Client ids (host names and signed ids) from anyone.
    #[test]
    fn client_id_resolution_never_panics(id in prop_oneof![".{0,80}", "pc1\\.[A-Za-z0-9_-]{0,80}(\\.[A-Za-z0-9_-]{0,30})?"]) {
        let _ = parallel_oauth_provider::clients::client::Client::resolve(&id, &test_keys());
    }

    /// Codes and stored grants: any text as a code, any stored value.
    #[test]
    fn code_parsing_and_opening_never_panic(text in ".{0,60}", stored in "[A-Za-z0-9_-]{0,300}") {
        use parallel_oauth_provider::grants::code::Code;
        if let Some(code) = Code::parse(&text) {
            prop_assert!(code.open(&stored).is_none());
            prop_assert!(!code.store_key().contains(code.as_str()));
        }
        let code = Code::new([7; 32]);
        prop_assert!(code.open(&stored).is_none());
    }

    /// The token request parser with any body, content type and Authorization.
    #[test]
    fn token_request_parsing_never_panics(body in arb_body(), ct in prop::option::of("[ -~]{0,40}"), auth in prop::option::of("(Basic|basic|Bearer) [ -~]{0,60}")) {
        let mut request = typed_post("/token", ct.as_deref(), body);
        if let Some(auth) = auth { request = request.with_header("authorization", &auth); }
        if let Err(e) = parallel_oauth_provider::endpoints::token::parse(&request) {
            prop_assert!(e.to_response().status < 500);
        }
    }

    /// Registration JSON, directly.
    #[test]
    fn registration_parsing_never_panics(body in arb_body(), ct in prop::option::of("[ -~]{0,40}")) {
        match parallel_oauth_provider::clients::register::register(ct.as_deref(), &body, &test_keys(), &["authorization_code", "refresh_token"], T0) {
            Ok(v) => prop_assert!(v["client_id"].as_str().is_some()),
            Err(e) => prop_assert_eq!(e.to_response().status, 400),
        }
    }

    /// The /authorize query reader, directly.
    #[test]
    fn authorize_query_parsing_never_panics(query in arb_params()) {
        let _ = parallel_oauth_provider::endpoints::authorize::parse(&query, &test_keys(), &Default::default());
    }

    /// Client ID Metadata Documents: any URL, any document, any Cache-Control.
    #[test]
    fn client_metadata_documents_never_panic(id in prop_oneof![".{0,60}", "https://[a-z.]{1,20}/[ -~]{0,30}"], body in arb_body(), status in any::<u16>(), cc in prop::option::of("[ -~]{0,60}")) {
        use parallel_oauth_provider::clients::cimd;
        let _ = cimd::is_document_url(&id, false);
        let fetched = cimd::Fetched { status, cache_control: cc.clone(), body };
        let _ = cimd::parse_document(&id, &fetched);
        prop_assert!(cimd::cache_lifetime(cc.as_deref()) <= cimd::MAX_CACHE);
    }
}
