//! PKCE: challenge and verifier errors at /authorize and /token.

#[allow(unused_imports)]
use super::*;

#[test]
fn authorize_pkce_errors_redirect_with_invalid_request_state_and_iss() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let base = format!("response_type=code&client_id=yourapp.com&redirect_uri={}&state=st-9", enc(REDIRECT));
    let cases: Vec<(String, &str)> = vec![
        (base.clone(), "no challenge, no method"),
        (format!("{base}&code_challenge_method=S256"), "missing challenge"),
        (format!("{base}&code_challenge=&code_challenge_method=S256"), "empty challenge"),
        (format!("{base}&code_challenge={challenge}"), "missing method"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method="), "empty method"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=plain"), "plain"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=PLAIN"), "PLAIN"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=s256"), "lower-case s256"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=S512"), "S512"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=SHA256"), "SHA256"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=S256+"), "S256 with a space"),
        (format!("{base}&code_challenge={challenge}&code_challenge_method=S256%00"), "S256 with NUL"),
        (format!("{base}&code_challenge={}&code_challenge_method=S256", &challenge[..42]), "42 characters"),
        (format!("{base}&code_challenge={}&code_challenge_method=S256", "a".repeat(129)), "129 characters"),
        (format!("{base}&code_challenge={}%2B&code_challenge_method=S256", &challenge[..42]), "+"),
        (format!("{base}&code_challenge={}%2F&code_challenge_method=S256", &challenge[..42]), "/"),
        (format!("{base}&code_challenge={}%3D&code_challenge_method=S256", &challenge[..42]), "= padding"),
        (format!("{base}&code_challenge={}.&code_challenge_method=S256", &challenge[..42]), "."),
        (format!("{base}&code_challenge={}~&code_challenge_method=S256", &challenge[..42]), "~"),
        (format!("{base}&code_challenge={}+&code_challenge_method=S256", &challenge[..42]), "space"),
        (format!("{base}&code_challenge={}%00&code_challenge_method=S256", &challenge[..42]), "NUL"),
        (format!("{base}&code_challenge={}%C3%A9&code_challenge_method=S256", &challenge[..41]), "é"),
    ];
    for (q, what) in cases {
        let r = s.authorize(&q);
        assert_error_redirect(&r, REDIRECT, "invalid_request", Some("st-9"), what);
        assert!(r.header("set-cookie").is_none(), "{what}");
    }
    // A repeated parameter, once the client and its redirect URI are known,
    // goes back to the client too (RFC 6749 §4.1.2.1); a repeated client_id
    // or redirect_uri is a page.
    let q = format!("{base}&code_challenge={challenge}&code_challenge_method=S256&code_challenge_method=plain");
    assert_error_redirect(&s.authorize(&q), REDIRECT, "invalid_request", Some("st-9"), "repeated method");
    let q = format!("{base}&code_challenge={challenge}&code_challenge_method=S256&client_id=yourapp.com");
    assert_page(&s.authorize(&q), 400, "repeated client_id");
}

fn legacy_verifier(numbers: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(numbers.join(","))
}

#[test]
fn token_verifier_errors() {
    let s = Server::new();
    let (code, verifier) = full_flow(&s);
    let body = |v: &str| token_body(&code, "yourapp.com", REDIRECT, v);
    let nums: Vec<String> = (0..32).map(|i| ((i * 97 + 13) % 256).to_string()).collect();
    let mut too_many = nums.clone();
    too_many.push("1".into());
    let mut big = nums.clone();
    big[5] = "256".into();
    let mut negative = nums.clone();
    negative[0] = "-1".into();
    let mut spaced = nums.clone();
    spaced[3] = " 12".into();
    let mut empty = nums.clone();
    empty[31] = String::new();
    let mut hex = nums.clone();
    hex[1] = "ff".into();
    let long_legacy = |n: &[String]| {
        let v = legacy_verifier(n);
        assert!(v.len() > 128, "a recipe-shaped verifier longer than 128 characters");
        v
    };
    let padded = format!("{}=", long_legacy(&nums));
    // (Digits and commas never encode to `+` or `/`: the recipe's
    // `+/=` replacement only ever removes padding.)
    let malformed: Vec<(String, &str)> = vec![
        (body("").replace("&code_verifier=", ""), "missing"),
        (body(""), "empty"),
        (body(&verifier[..42]), "42 characters"),
        (body(&"a".repeat(129)), "129 characters"),
        (body(&"a".repeat(200)), "200 characters"),
        (body(&format!("{}%2B", &verifier[..42])), "+"),
        (body(&format!("{}%2F", &verifier[..42])), "/"),
        (body(&format!("{}%3D", &verifier[..42])), "="),
        (body(&format!("{}+", &verifier[..42])), "space"),
        (body(&format!("{}%00", &verifier[..42])), "NUL"),
        (body(&format!("{}%0A", &verifier[..42])), "LF"),
        (body(&format!("{}%C3%A9", &verifier[..41])), "é"),
        (body(&long_legacy(&nums[..31])), "recipe shape with 31 numbers"),
        (body(&long_legacy(&too_many)), "recipe shape with 33 numbers"),
        (body(&long_legacy(&big)), "recipe shape with 256"),
        (body(&long_legacy(&negative)), "recipe shape with -1"),
        (body(&long_legacy(&spaced)), "recipe shape with a space"),
        (body(&long_legacy(&empty)), "recipe shape with an empty number"),
        (body(&long_legacy(&hex)), "recipe shape with hex"),
        (body(&enc(&padded)), "recipe shape with padding"),
        (format!("{}&code_verifier={verifier}", body(&verifier)), "repeated"),
    ];
    for (b, what) in malformed {
        let r = s.token(&b);
        assert_json_error(&r, 400, "invalid_request", what);
    }
    // None of those was a redemption attempt: the code is still there.
    assert_eq!(s.store.len(), 1);

    // A well-formed wrong verifier is a redemption attempt: invalid_grant,
    // and the code is gone (SECURITY.md).
    let wrong = pkce("wrong").0;
    assert_json_error(&s.token(&body(&wrong)), 400, "invalid_grant", "wrong verifier");
    assert_json_error(&s.token(&body(&verifier)), 400, "invalid_grant", "right verifier after a wrong one");

    // The legacy README verifier (>128 characters) of exactly the recipe's
    // shape works, and the boundaries 43 and 128 work.
    let legacy = long_legacy(&nums);
    assert!(legacy.len() > 128);
    for v in [legacy, "a".repeat(43), "Z~.-_9".repeat(21) + "ab"] {
        let s = Server::new();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
        let code = code_for(&s, &auth_query("yourapp.com", REDIRECT, &challenge, ""));
        let r = s.redeem(&code, &v);
        assert_eq!(r.status, 200, "{} chars: {}", v.len(), r.text());
    }
}

/// Regression: an S256 `code_challenge` of 44-128 base64url characters (well
/// formed for RFC 7636 §4.2, but never the SHA-256 digest a verifier hashes
/// to) reached the consent page and failed only at /token. It is an error
/// redirect at /authorize now, once client and redirect URI are valid.
#[test]
fn s256_challenge_that_is_not_43_characters_is_refused_at_authorize() {
    let s = Server::new();
    let (_, challenge) = pkce("x");
    let base = format!("response_type=code&client_id=yourapp.com&redirect_uri={}&state=st-43", enc(REDIRECT));
    for len in [44, 64, 128] {
        let long: String = challenge.chars().cycle().take(len).collect();
        let r = s.authorize(&format!("{base}&code_challenge={long}&code_challenge_method=S256"));
        assert_error_redirect(&r, REDIRECT, "invalid_request", Some("st-43"), &format!("{len} characters"));
    }
    let ok = s.authorize(&format!("{base}&code_challenge={challenge}&code_challenge_method=S256"));
    assert_eq!(ok.status, 200, "the 43-character digest still reaches the consent page");
}
