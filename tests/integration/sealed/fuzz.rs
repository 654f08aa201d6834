//! Every malformed input of every new endpoint gets an RFC error, never a
//! panic or a 500.

use super::*;
use proptest::prelude::*;

fn arb_form() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("grant_type".to_string()),
        Just("refresh_token".to_string()),
        Just("token".to_string()),
        Just("token_type_hint".to_string()),
        Just("client_id".to_string()),
        Just("scope".to_string()),
        Just("resource".to_string()),
        "[a-z_]{1,8}",
    ];
    let value = prop_oneof![
        Just("refresh_token".to_string()),
        Just("yourapp.com".to_string()),
        Just("https://mcp.example/mcp".to_string()),
        "[A-Za-z0-9._~%+-]{0,60}",
        "\\PC{0,40}",
    ];
    prop::collection::vec((name, value), 0..6)
        .prop_map(|pairs| pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn new_endpoints_never_panic_or_500(
        path in prop_oneof![Just("/token"), Just("/revoke"), Just("/introspect"), Just("/userinfo")],
        body in arb_form(),
        auth in prop::option::of(prop_oneof![Just("Basic aHR0cHM6Ly9tY3AuZXhhbXBsZS9tY3A6eA==".to_string()), "(Bearer|Basic) [ -~]{0,60}"]),
        ct in prop_oneof![Just(FORM.to_string()), Just("application/json".to_string()), "[ -~]{0,20}"],
    ) {
        let s = sealed();
        let mut r = Request::new("POST", url(path)).with_header("content-type", &ct).with_body(body.clone());
        if let Some(a) = &auth {
            r = r.with_header("authorization", a);
        }
        let answer = s.send(r);
        prop_assert!(answer.status < 500, "{path} {body:?}: {} {}", answer.status, answer.text());
        if answer.status >= 400 && path != "/userinfo" {
            let v: Value = serde_json::from_slice(&answer.body).unwrap();
            prop_assert!(v["error"].is_string());
        }
    }
}
