//! Real clients, replayed: each test sends what one client of
//! /work/shared/CLIENTS.md sends — its registration, its authorization
//! request (exact redirect_uri, `resource`, `scope`, `state`) and its token
//! request (client authentication as it does it, `resource` where it sends
//! it) — and must end with the key. CIMD-only paths are in `cimd.rs`.

use crate::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use parallel_oauth_provider::{Config, Request, ResourcePolicy, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const MCP: &str = "https://mcp.example/mcp";

/// POST /register with a client's body: 201, a client_id, `none`, the
/// redirect URIs echoed, no `null` anywhere (the MCP SDK's schema rejects
/// them), CORS for browser clients.
fn register(s: &Server, body: &Value) -> String {
    let r = s.send(
        Request::new("POST", url("/register"))
            .with_header("content-type", "application/json")
            .with_header("origin", "http://localhost:6274")
            .with_body(body.to_string()),
    );
    assert_eq!(r.status, 201, "{body}: {}", r.text());
    assert!(!r.text().contains("null"), "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"));
    let b = json(&r);
    assert_eq!(b["token_endpoint_auth_method"], "none", "whatever was asked, the answer is none");
    assert!(b.get("client_secret").is_none());
    assert_eq!(b["redirect_uris"], body["redirect_uris"]);
    assert!(b["client_id_issued_at"].is_u64());
    b["client_id"].as_str().expect("client_id").to_string()
}

/// An authorization request as the MCP TypeScript SDK builds it
/// (`startAuthorization`: URLSearchParams in this order).
struct Authorization<'a> {
    client_id: &'a str,
    redirect_uri: &'a str,
    state: Option<&'a str>,
    scope: Option<&'a str>,
    resource: Option<&'a str>,
}

impl<'a> Authorization<'a> {
    /// What most clients send: their state, a scope or none, and the MCP
    /// server as `resource`.
    fn for_mcp(client_id: &'a str, redirect_uri: &'a str, state: &'a str, scope: Option<&'a str>) -> Self {
        Authorization { client_id, redirect_uri, state: Some(state), scope, resource: Some(MCP) }
    }

    fn query(&self, challenge: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", self.client_id)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("redirect_uri", self.redirect_uri);
        for (name, value) in [("state", self.state), ("scope", self.scope), ("resource", self.resource)] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        q.finish()
    }
}

/// The text of the consent page's `<strong class="host">`: who receives the key.
fn receiver_on_page(page: &Response) -> String {
    let html = page.text();
    let marker = "<strong class=\"host\">";
    let start = html.find(marker).expect("the page names the receiver") + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_string()
}

/// GET /authorize, check the page names `receiver`, approve with the key;
/// the 303 goes to exactly the redirect URI sent, with state and iss.
/// Returns the code.
fn consent(s: &Server, auth: &Authorization, challenge: &str, receiver: &str) -> String {
    let (page, mut jar) = s.open_consent(&auth.query(challenge));
    assert_eq!(page.status, 200, "{}: {}", auth.redirect_uri, page.text());
    assert_eq!(receiver_on_page(&page), receiver, "the consent page names who receives the key");
    let r = s.answer(&page, APPROVE, &mut jar);
    assert_eq!(r.status, 303, "{}", r.text());
    let (target, params) = location(&r);
    assert_eq!(target, auth.redirect_uri, "the code goes to the redirect URI sent, port included");
    assert_eq!(param(&params, "state"), auth.state);
    assert_eq!(param(&params, "iss"), Some(ORIGIN));
    assert!(param(&params, "error").is_none());
    param(&params, "code").expect("code").to_string()
}

/// `consent` with a PKCE pair of its own: the code and its verifier.
fn approved(s: &Server, auth: &Authorization, receiver: &str) -> (String, String) {
    let (verifier, challenge) = pkce(auth.redirect_uri);
    (consent(s, auth, &challenge, receiver), verifier)
}

/// GET /authorize with nothing but the required parameters.
fn authorize_bare(s: &Server, client_id: &str, redirect_uri: &str) -> Response {
    let (_, challenge) = pkce("x");
    let auth = Authorization { client_id, redirect_uri, state: None, scope: None, resource: None };
    s.authorize(&auth.query(&challenge))
}

/// POST /token with form fields in the order given and optional HTTP Basic;
/// the browser clients' Origin gets CORS.
fn token(s: &Server, fields: &[(&str, &str)], basic: Option<(&str, &str)>) -> Response {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (n, v) in fields {
        q.append_pair(n, v);
    }
    let mut request = Request::new("POST", url("/token"))
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("origin", "http://localhost:6274")
        .with_body(q.finish());
    if let Some((id, secret)) = basic {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = STANDARD.encode(format!("{}:{}", enc(id), enc(secret)));
        request = request.with_header("authorization", &format!("Basic {credentials}"));
    }
    let r = s.send(request);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r
}

/// The successful token response: the key, Bearer, and what was bound.
fn assert_key(r: &Response, scope: Option<&str>, resource: Option<&str>) {
    assert_eq!(r.status, 200, "{}", r.text());
    let b = json(r);
    assert_eq!(b["access_token"], KEY);
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b.get("scope").and_then(Value::as_str), scope);
    assert_eq!(b.get("resource").and_then(Value::as_str), resource);
    assert!(!r.text().contains("null"));
}

/// A server that accepts http loopback resources (`DEV=1`), as when an MCP
/// server runs on the developer's machine.
fn dev_server() -> Server {
    Server::with(Config { resources: ResourcePolicy::new(&[], true), dev: true, ..Config::default() }, SECRET, None)
}

// ---------------------------------------------------------------- MCP Inspector

fn inspector_registration(redirect_uris: &[&str]) -> Value {
    // InspectorOAuthClientProvider.clientMetadata (through the SDK's auth()).
    json!({
        "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "MCP Inspector",
        "client_uri": "https://github.com/modelcontextprotocol/inspector",
    })
}

/// The SDK's token request: grant, code, verifier, redirect_uri, client_id
/// (auth method none), resource.
fn sdk_token(
    s: &Server,
    code: &str,
    verifier: &str,
    client_id: &str,
    redirect_uri: &str,
    resource: Option<&str>,
) -> Response {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
    ];
    if let Some(r) = resource {
        fields.push(("resource", r));
    }
    token(s, &fields, None)
}

/// The SDK's whole flow: consent (see `consent`), then its token request
/// with `resource`.
fn sdk_flow(s: &Server, auth: &Authorization, receiver: &str, resource: Option<&str>) -> Response {
    let (code, verifier) = approved(s, auth, receiver);
    sdk_token(s, &code, &verifier, auth.client_id, auth.redirect_uri, resource)
}

#[test]
fn mcp_inspector_both_browser_callbacks() {
    let s = Server::new();
    let normal = "http://localhost:6274/oauth/callback";
    let debug = "http://localhost:6274/oauth/callback/debug";
    // The normal flow and the guided ("debug") flow each register their own
    // callback; a client registering both may use either.
    for uris in [vec![normal], vec![debug], vec![normal, debug]] {
        let client_id = register(&s, &inspector_registration(&uris));
        for redirect_uri in uris {
            // resource from the PRM, scope from the AS's scopes_supported.
            let state = "f2c1a4d8e9b3c7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2";
            let auth = Authorization::for_mcp(&client_id, redirect_uri, state, Some("api"));
            let r = sdk_flow(&s, &auth, "localhost:6274", Some(MCP));
            assert_key(&r, Some("api"), Some(MCP));
            assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"));
        }
    }
}

#[test]
fn mcp_inspector_cli_callback_on_127_0_0_1_with_a_local_server() {
    let s = dev_server();
    let redirect_uri = "http://127.0.0.1:6276/oauth/callback";
    let client_id = register(&s, &inspector_registration(&[redirect_uri]));
    let resource = "http://localhost:3000/mcp";
    let auth = Authorization {
        resource: Some(resource),
        ..Authorization::for_mcp(&client_id, redirect_uri, "cli-state", Some("api"))
    };
    assert_key(&sdk_flow(&s, &auth, "127.0.0.1:6276", Some(resource)), Some("api"), Some(resource));
}

#[test]
fn mcp_inspector_discovery_and_preflights_work_from_the_browser() {
    let s = Server::new();
    for (method, path) in [
        ("OPTIONS", "/.well-known/oauth-protected-resource/mcp"),
        ("OPTIONS", "/.well-known/oauth-authorization-server"),
        ("OPTIONS", "/register"),
        ("OPTIONS", "/token"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/openid-configuration"),
    ] {
        let r = s.send(
            Request::new(method, url(path))
                .with_header("origin", "http://localhost:6274")
                .with_header("access-control-request-method", "POST")
                .with_header("access-control-request-headers", "content-type, mcp-protocol-version"),
        );
        assert!(matches!(r.status, 200 | 204 | 404), "{method} {path}: {}", r.status);
        assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"), "{method} {path}");
        assert!(r.header("access-control-allow-credentials").is_none());
    }
}

// ---------------------------------------------------------------- claude.ai / Claude Desktop

fn claude_registration(redirect_uri: &str) -> Value {
    // Sent from Anthropic's servers; asks for client_secret_post.
    json!({
        "client_name": "Claude",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post",
    })
}

#[test]
fn claude_ai_dcr_asking_for_client_secret_post_twice() {
    let s = Server::new();
    for redirect_uri in ["https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"] {
        // DCR may run twice per connect: both registrations are answered
        // (with `none`) and the client id of either works.
        let first = register(&s, &claude_registration(redirect_uri));
        let second = register(&s, &claude_registration(redirect_uri));
        for (client_id, secret) in [(&first, None), (&second, Some("a-secret-we-never-issued"))] {
            // No scope in the 401: Claude asks for every advertised scope.
            let scopes = json(&s.get("/.well-known/oauth-authorization-server"))["scopes_supported"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let state = "JqH3hV9sWc0yQ1n2pXbLz7dR4tK8mF6aE5gU0iYoB3c";
            let auth = Authorization::for_mcp(client_id, redirect_uri, state, Some(&scopes));
            let host = url::Url::parse(redirect_uri).unwrap().host_str().unwrap().to_string();
            let (code, verifier) = approved(&s, &auth, &host);
            let mut fields = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.as_str()),
                ("client_id", client_id.as_str()),
            ];
            // client_secret_post from a client we told `none`: tolerated.
            if let Some(secret) = secret {
                fields.push(("client_secret", secret));
            }
            fields.push(("resource", MCP));
            assert_key(&token(&s, &fields, None), Some(&scopes), Some(MCP));
        }
    }
}

// ---------------------------------------------------------------- Claude Code

#[test]
fn claude_code_loopback_random_port_and_bare_origin_resource_with_slash() {
    let s = Server::new();
    // Registered on the port of the first run; later runs listen elsewhere.
    let client_id = register(
        &s,
        &json!({
            "client_name": "Claude Code (parallel)",
            "redirect_uris": ["http://localhost:49152/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }),
    );
    for (port, at_authorize, at_token) in [
        (49152, "https://mcp.example/", Some("https://mcp.example/")),
        (61537, "https://mcp.example/", Some("https://mcp.example")),
        (33333, "https://mcp.example", Some("https://mcp.example/")),
        (40001, "https://mcp.example/", None),
    ] {
        let redirect_uri = format!("http://localhost:{port}/callback");
        let auth = Authorization {
            resource: Some(at_authorize),
            ..Authorization::for_mcp(&client_id, &redirect_uri, "cc-state", None)
        };
        let r = sdk_flow(&s, &auth, &format!("localhost:{port}"), at_token);
        // No scope asked: the server's default (RFC 6749 §3.3).
        assert_key(&r, Some("api"), Some("https://mcp.example/"));
    }
    // Loopback relaxes the port only: another path is not the registration.
    assert_eq!(authorize_bare(&s, &client_id, "http://localhost:5000/other").status, 400);
}

// ---------------------------------------------------------------- ChatGPT

#[test]
fn chatgpt_dcr_fallback_sends_resource_at_authorize_and_token() {
    let s = Server::new();
    let current = "https://chatgpt.com/connector/oauth/c_6f1e0b2a9d";
    let legacy = "https://chatgpt.com/connector_platform_oauth_redirect";
    let client_id = register(
        &s,
        &json!({
            "client_name": "ChatGPT",
            "redirect_uris": [current, legacy],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "web",
        }),
    );
    for redirect_uri in [current, legacy] {
        let auth = Authorization::for_mcp(&client_id, redirect_uri, "oauth_s_690f2c1e8b7a4d3c", Some("api"));
        assert_key(&sdk_flow(&s, &auth, "chatgpt.com", Some(MCP)), Some("api"), Some(MCP));
    }
}

#[test]
fn resource_mismatch_at_token_is_invalid_target() {
    let s = Server::new();
    let redirect_uri = "https://chatgpt.com/connector/oauth/c_6f1e0b2a9d";
    let client_id = register(&s, &json!({"client_name": "ChatGPT", "redirect_uris": [redirect_uri]}));
    let auth = Authorization::for_mcp(&client_id, redirect_uri, "s", Some("api"));
    let r = sdk_flow(&s, &auth, "chatgpt.com", Some("https://other.example/mcp"));
    assert_error(&r, 400, "invalid_target", "another resource");
    assert!(json(&r).get("access_token").is_none());

    // A code bound to no resource cannot be redeemed for one either.
    let unbound = Authorization { resource: None, ..auth };
    assert_error(&sdk_flow(&s, &unbound, "chatgpt.com", Some(MCP)), 400, "invalid_target", "unbound code");
}

// ---------------------------------------------------------------- Cursor

#[test]
fn cursor_three_redirect_uris_each_work_and_the_page_names_the_real_receiver() {
    let s = Server::new();
    let uris = [
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp", "cursor:"),
        ("https://www.cursor.com/agents/mcp/oauth/callback", "www.cursor.com", "https://www.cursor.com"),
        ("http://localhost:8787/callback", "localhost:8787", "http://localhost:8787"),
    ];
    let client_id = register(
        &s,
        &json!({
            "redirect_uris": uris.iter().map(|u| u.0).collect::<Vec<_>>(),
            "client_name": "Cursor",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }),
    );
    for (redirect_uri, receiver, form_action) in uris {
        let auth = Authorization::for_mcp(&client_id, redirect_uri, "cursor-state", None);
        let (_, challenge) = pkce(redirect_uri);
        let (page, _) = s.open_consent(&auth.query(&challenge));
        assert_eq!(page.status, 200, "{redirect_uri}: {}", page.text());
        // The receiver, not the other registered URIs, is what the user approves.
        assert_eq!(receiver_on_page(&page), receiver);
        for (other, other_receiver, _) in uris.iter().filter(|u| u.0 != redirect_uri) {
            assert!(!page.text().contains(other), "{redirect_uri} page mentions {other}");
            assert!(
                !page.text().contains(&format!(">{other_receiver}<")),
                "{redirect_uri} page names {other_receiver}"
            );
        }
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains(&format!("form-action 'self' {form_action}")), "{csp}");

        assert_key(&sdk_flow(&s, &auth, receiver, Some(MCP)), Some("api"), Some(MCP));
    }
}

// ---------------------------------------------------------------- VS Code

#[test]
fn vscode_registers_port_less_127_0_0_1_and_uses_33418_or_a_random_port() {
    let s = Server::new();
    let client_id = register(
        &s,
        &json!({
            "client_name": "Visual Studio Code",
            "client_uri": "https://code.visualstudio.com/",
            "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
            "response_types": ["code"],
            "redirect_uris": [
                "https://insiders.vscode.dev/redirect",
                "https://vscode.dev/redirect",
                "http://127.0.0.1/",
                "http://127.0.0.1:33418/",
            ],
            "token_endpoint_auth_method": "none",
        }),
    );
    for (redirect_uri, receiver) in [
        ("http://127.0.0.1:33418/", "127.0.0.1:33418"),
        ("http://127.0.0.1:51234/", "127.0.0.1:51234"),
        ("https://vscode.dev/redirect", "vscode.dev"),
        ("https://insiders.vscode.dev/redirect", "insiders.vscode.dev"),
    ] {
        let auth = Authorization::for_mcp(&client_id, redirect_uri, "vscode-state", Some("api"));
        assert_key(&sdk_flow(&s, &auth, receiver, Some(MCP)), Some("api"), Some(MCP));
    }
    // 127.0.0.1 was registered, not localhost.
    let r = authorize_bare(&s, &client_id, "http://localhost:33418/");
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

// ---------------------------------------------------------------- the original's recipe

/// `btoa(crypto.getRandomValues(new Uint8Array(32)))` with `+/=` replaced:
/// btoa of the bytes joined with commas (the recipe's quirk), up to ~170
/// characters.
fn recipe_verifier(bytes: &[u8; 32]) -> String {
    let text = bytes.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
    URL_SAFE_NO_PAD.encode(text)
}

/// A recipe verifier from 32 bytes derived from `seed`, and its S256 challenge.
fn recipe_pkce(seed: &[u8]) -> (String, String) {
    let verifier = recipe_verifier(&Sha256::digest(seed).into());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The recipe's token request: the host name as client_id, no resource.
fn recipe_token(s: &Server, code: &str, redirect_uri: &str, verifier: &str) -> Response {
    token(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", "yourapp.com"),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
        None,
    )
}

#[test]
fn original_readme_recipe_and_demo_page() {
    let s = Server::new();
    // README: register, authorize with state and scope=api, token with client_id "yourapp.com".
    assert_eq!(register(&s, &json!({ "redirect_uris": ["https://yourapp.com/callback"] })), "yourapp.com");
    let (verifier, challenge) = recipe_pkce(b"recipe");
    assert!(verifier.len() > 128, "the recipe's verifiers are longer than RFC 7636 allows");
    let query = format!(
        "client_id=yourapp.com&redirect_uri={}&response_type=code&scope=api&code_challenge={challenge}&code_challenge_method=S256&state=random-state-value",
        enc("https://yourapp.com/callback")
    );
    let (page, mut jar) = s.open_consent(&query);
    assert_eq!(receiver_on_page(&page), "yourapp.com");
    let r = s.answer(&page, APPROVE, &mut jar);
    let (target, params) = location(&r);
    assert_eq!(target, "https://yourapp.com/callback");
    assert_eq!(param(&params, "state"), Some("random-state-value"));
    let code = param(&params, "code").unwrap();
    assert_key(&recipe_token(&s, code, "https://yourapp.com/callback", &verifier), Some("api"), None);

    // demo.html: redirect_uri = location.origin + "/", no state, token with
    // client_id = location.hostname (the origin has a port here).
    let origin = "https://yourapp.com:8443";
    let client_id = register(&s, &json!({ "redirect_uris": [format!("{origin}/")] }));
    assert_eq!(client_id, "yourapp.com");
    let (verifier, challenge) = recipe_pkce(b"demo");
    let redirect_uri = format!("{origin}/");
    let auth = Authorization {
        client_id: &client_id,
        redirect_uri: &redirect_uri,
        state: None,
        scope: Some("api"),
        resource: None,
    };
    let code = consent(&s, &auth, &challenge, "yourapp.com:8443");
    assert_key(&recipe_token(&s, &code, &redirect_uri, &verifier), Some("api"), None);
}

// ---------------------------------------------------------------- client authentication variants

#[test]
fn client_secret_basic_from_a_client_told_none_is_tolerated() {
    let s = Server::new();
    let redirect_uri = "https://claude.ai/api/mcp/auth_callback";
    let client_id = register(&s, &claude_registration(redirect_uri));
    let auth = Authorization::for_mcp(&client_id, redirect_uri, "s", Some("api"));
    let (code, verifier) = approved(&s, &auth, "claude.ai");
    let r = token(
        &s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", redirect_uri),
            ("resource", MCP),
        ],
        Some((&client_id, "")),
    );
    assert_key(&r, Some("api"), Some(MCP));
}
