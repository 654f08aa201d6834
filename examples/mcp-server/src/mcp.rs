//! The MCP server itself, as plain Rust on the provider crate's
//! `Request`/`Response` (the Worker glue in `lib.rs` only converts): MCP
//! over Streamable HTTP at `/mcp` (JSON responses, no SSE), protected by
//! parallel-oauth-provider through `resource_server`.

use parallel_oauth_provider::resource_server::{mask, Opened, ProtectedResource, ResourceKey, VerifyingKey};
use parallel_oauth_provider::{Request, Response};
use serde_json::{json, Value};

/// The MCP endpoint's path.
pub const MCP_PATH: &str = "/mcp";

/// Protocol versions this server speaks; `initialize` echoes the client's
/// when it is one of them and answers [`DEFAULT_PROTOCOL_VERSION`] otherwise.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The version offered to clients asking for one we do not speak.
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-06-18";

/// The largest JSON-RPC message read, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// The request headers this server reads (and `content-length`, for the
/// body limit): on Workers only these are copied from the runtime's request.
pub const REQUEST_HEADERS: &[&str] =
    &["authorization", "content-length", "content-type", "mcp-protocol-version", "origin"];

/// The scope the provider advertises (any scope is accepted there).
const SCOPES: &[&str] = &["api"];

/// What the server needs to know about where it runs.
#[derive(Clone)]
pub struct Settings {
    /// The provider's issuer, e.g. `http://127.0.0.1:8787`.
    pub authorization_server: String,
    /// Which tokens it accepts.
    pub tokens: Tokens,
    /// Unix time of the request, in seconds.
    pub now: u64,
    /// Seconds of clock skew allowed past a sealed token's `exp` (at most 60).
    pub leeway: u64,
}

/// Which tokens the server accepts.
#[derive(Clone)]
pub enum Tokens {
    /// Sealed tokens for this resource (the provider's `TOKEN_MODE=sealed`
    /// or `SEALED_RESOURCES`), opened with this resource's keys (`RESOURCE_KEY`
    /// and, while the provider rotates `SECRET`, `RESOURCE_KEY_PREVIOUS`) and,
    /// for JWT tokens, the provider's JWKS.
    Sealed {
        /// This resource's keys.
        keys: Vec<ResourceKey>,
        /// The provider's signing keys (empty for JWE tokens).
        jwks: Vec<VerifyingKey>,
    },
    /// The bearer token is the user's API key itself (passthrough).
    Passthrough,
}

/// The keys in the values of `RESOURCE_KEY` and `RESOURCE_KEY_PREVIOUS`:
/// each holds one key, or several separated by commas, one for each URL
/// the server is reached at (each URL is a resource of its own, with its
/// own key: `make dev` gives the server the keys of `127.0.0.1` and
/// `localhost`). A value that is not a key is left out.
pub fn resource_keys<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<ResourceKey> {
    values.into_iter().flat_map(|v| v.split(',')).filter_map(ResourceKey::from_b64url).collect()
}

/// Who is calling: what the tool shows (never the whole key).
struct Caller {
    masked_key: String,
    sealed: Option<Opened>,
}

/// Answers one request.
pub fn handle(request: &Request, settings: &Settings) -> Response {
    let response = route(request, settings);
    cors(request, response)
}

fn route(request: &Request, settings: &Settings) -> Response {
    let method = request.method.as_str();
    if method == "OPTIONS" {
        return preflight();
    }
    let origin = request.origin();
    let resource = match ProtectedResource::new(&format!("{origin}{MCP_PATH}"), &settings.authorization_server) {
        Ok(r) => r
            .with_scopes(SCOPES)
            .with_resource_name("parallel-oauth-provider example MCP server")
            .with_leeway(settings.leeway),
        Err(e) => return error(500, "server_error", &format!("misconfigured: {e} (check AUTHORIZATION_SERVER)")),
    };
    if let Some(metadata) = resource.serve_metadata(request) {
        return metadata;
    }
    match request.url.path() {
        MCP_PATH => {}
        "/" if method == "GET" => {
            return Response::empty(200).with_header("content-type", "text/plain; charset=utf-8").with_body(format!(
                "An MCP server (Streamable HTTP) at {origin}{MCP_PATH}, signed in through {}.\n",
                resource.authorization_server()
            ));
        }
        _ => return error(404, "not_found", "no such endpoint"),
    }
    // Every MCP request needs a token, whatever its method: the 401 is what
    // starts a client's OAuth flow.
    let caller = match &settings.tokens {
        Tokens::Passthrough => match resource.authenticate(request) {
            Ok(token) => Caller { masked_key: token.masked(), sealed: None },
            Err(challenge) => return challenge,
        },
        Tokens::Sealed { keys, .. } if keys.is_empty() => {
            return error(
                500,
                "server_error",
                "misconfigured: set RESOURCE_KEY (make resource-key RESOURCE=<this /mcp URL>)",
            )
        }
        Tokens::Sealed { keys, jwks } => match resource.open_sealed(request, keys, jwks, settings.now) {
            // The key is here: a real server would now call the platform's API with it.
            Ok(opened) => Caller { masked_key: mask(opened.api_key.expose()), sealed: Some(opened) },
            Err(challenge) => return challenge,
        },
    };
    match method {
        "POST" => post(request, &caller),
        // No server-initiated stream (GET) and no sessions to end (DELETE).
        _ => Response::empty(405).with_header("allow", "POST, OPTIONS"),
    }
}

/// POST /mcp: one JSON-RPC message in, one JSON answer (or 202) out.
fn post(request: &Request, caller: &Caller) -> Response {
    if request.body.len() > MAX_BODY {
        return rpc_error_response(413, Value::Null, -32600, "the message is larger than 1 MB");
    }
    if request.media_type().as_deref() != Some("application/json") {
        return rpc_error_response(415, Value::Null, -32600, "POST a JSON-RPC message as application/json");
    }
    if let Some(version) = request.header("mcp-protocol-version") {
        if !PROTOCOL_VERSIONS.contains(&version) {
            return rpc_error_response(400, Value::Null, -32600, "unsupported MCP-Protocol-Version");
        }
    }
    let message: Value = match serde_json::from_slice(&request.body) {
        Ok(v) => v,
        Err(_) => return rpc_error_response(400, Value::Null, -32700, "parse error: the body is not JSON"),
    };
    let Some(message) = message.as_object() else {
        return rpc_error_response(400, Value::Null, -32600, "send one JSON-RPC message (batches are not supported)");
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return rpc_error_response(
            400,
            message.get("id").cloned().unwrap_or(Value::Null),
            -32600,
            "jsonrpc must be \"2.0\"",
        );
    }
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        // A response to a request of ours (we send none) or garbage: accepted
        // and ignored, as the transport asks for responses.
        return Response::empty(202);
    };
    let Some(id) = message.get("id").cloned() else {
        // Notifications (notifications/initialized, cancelled, ...): 202.
        return Response::empty(202);
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        return rpc_error_response(400, Value::Null, -32600, "id must be a string or an integer");
    }
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let answer = match method {
        "initialize" => Ok(initialize(&params)),
        "ping" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": [whoami_tool()] })),
        "tools/call" => call_tool(&params, caller),
        _ => Err((-32601, format!("method not found: {method}"))),
    };
    let body = match answer {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err((code, message)) => json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }),
    };
    Response::json_text(200, body.to_string()).no_store()
}

fn initialize(params: &Value) -> Value {
    let asked = params.get("protocolVersion").and_then(Value::as_str).unwrap_or("");
    let version = PROTOCOL_VERSIONS.iter().find(|v| **v == asked).copied().unwrap_or(DEFAULT_PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": {} },
        "serverInfo": { "name": "parallel-oauth-provider-example", "title": "parallel-oauth-provider example", "version": env!("CARGO_PKG_VERSION") },
        "instructions": "Call whoami to see which API key the OAuth flow delivered (masked).",
    })
}

fn whoami_tool() -> Value {
    json!({
        "name": "whoami",
        "title": "Who am I",
        "description": "Says which API key this MCP session was authorized with (masked: never the whole key).",
        "inputSchema": { "type": "object", "properties": {}, "additionalProperties": false },
        "annotations": { "readOnlyHint": true, "openWorldHint": false },
    })
}

fn call_tool(params: &Value, caller: &Caller) -> Result<Value, (i64, String)> {
    let mut text = format!("You are calling with the API key {}.", caller.masked_key);
    if let Some(t) = &caller.sealed {
        text.push_str(&format!(
            " It came sealed for this server only, issued to {} (scope \"{}\"), valid until {} (Unix time).",
            t.client_id, t.scope, t.exp
        ));
    }
    match params.get("name").and_then(Value::as_str) {
        Some("whoami") => Ok(json!({
            "content": [{ "type": "text", "text": text }],
            "isError": false,
        })),
        Some(name) => Err((-32602, format!("unknown tool: {name}"))),
        None => Err((-32602, "params.name is required".to_string())),
    }
}

fn rpc_error_response(status: u16, id: Value, code: i64, message: &str) -> Response {
    Response::json_text(
        status,
        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }).to_string(),
    )
    .no_store()
}

fn error(status: u16, code: &str, description: &str) -> Response {
    Response::json_text(status, json!({ "error": code, "error_description": description }).to_string())
}

/// CORS for browser clients (MCP Inspector): any origin, reflected, never
/// credentials (the token travels in `Authorization`, not in cookies).
fn cors(request: &Request, response: Response) -> Response {
    match request.header("origin") {
        Some(origin) => response
            .with_header("access-control-allow-origin", origin)
            .with_header("access-control-expose-headers", "WWW-Authenticate, mcp-session-id")
            .with_header("vary", "Origin"),
        None => response,
    }
}

fn preflight() -> Response {
    Response::empty(204)
        .with_header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS")
        .with_header(
            "access-control-allow-headers",
            "authorization, content-type, mcp-protocol-version, mcp-session-id",
        )
        .with_header("access-control-max-age", "86400")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-test-0123456789abcdef";

    fn settings() -> Settings {
        Settings {
            authorization_server: "http://127.0.0.1:8787".into(),
            tokens: Tokens::Passthrough,
            now: NOW,
            leeway: 60,
        }
    }

    const NOW: u64 = 1_800_000_000;
    const RESOURCE: &str = "http://127.0.0.1:8788/mcp";

    fn key() -> ResourceKey {
        ResourceKey::from_bytes([7; 32])
    }

    fn sealed_settings() -> Settings {
        sealed_settings_with(vec![key()])
    }

    fn sealed_settings_with(keys: Vec<ResourceKey>) -> Settings {
        Settings { tokens: Tokens::Sealed { keys, jwks: vec![] }, ..settings() }
    }

    fn sealed_token(aud: &str, exp: u64) -> String {
        sealed_token_with(&key(), aud, exp)
    }

    fn sealed_token_with(sealing: &ResourceKey, aud: &str, exp: u64) -> String {
        use parallel_oauth_provider::crypto::secret::ApiKey;
        use parallel_oauth_provider::grants::access_token::{mint_jwe, AccessClaims};
        let claims = AccessClaims {
            iss: "http://127.0.0.1:8787".into(),
            sub: "s".into(),
            aud: aud.into(),
            client_id: "inspector".into(),
            scope: "api".into(),
            iat: NOW,
            exp,
            jti: "g.1".into(),
        };
        mint_jwe(&claims, &ApiKey::parse(KEY).unwrap(), sealing, [3; 12])
    }

    fn call_with(token: &str, settings: &Settings) -> Response {
        let body = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}});
        let r = request("POST", MCP_PATH)
            .with_header("authorization", &format!("Bearer {token}"))
            .with_header("content-type", "application/json")
            .with_body(body.to_string());
        handle(&r, settings)
    }

    #[test]
    fn sealed_mode_opens_the_token_and_holds_the_key() {
        let r = call_with(&sealed_token(RESOURCE, NOW + 60), &sealed_settings());
        let text = json_of(&r)["result"]["content"][0]["text"].as_str().unwrap().to_string();
        assert!(text.contains("sk-…cdef") && text.contains("inspector"), "{text}");
        assert!(!r.text().contains(KEY));
    }

    #[test]
    fn sealed_mode_refuses_keys_expired_and_foreign_tokens_with_invalid_token() {
        for token in
            [KEY.to_string(), sealed_token(RESOURCE, NOW - 61), sealed_token("https://other.example/mcp", NOW + 60)]
        {
            let r = call_with(&token, &sealed_settings());
            assert_eq!(r.status, 401, "{token}");
            assert!(r.header("www-authenticate").unwrap().contains(r#"error="invalid_token""#));
        }
        let unset = Settings { tokens: Tokens::Sealed { keys: vec![], jwks: vec![] }, ..settings() };
        let r = call_with(&sealed_token(RESOURCE, NOW + 60), &unset);
        assert_eq!(r.status, 500);
        assert!(r.text().contains("RESOURCE_KEY"));
    }

    fn request(method: &str, path: &str) -> Request {
        request_at("http://127.0.0.1:8788", method, path)
    }

    fn request_at(origin: &str, method: &str, path: &str) -> Request {
        Request::new(method, format!("{origin}{path}").parse().unwrap())
    }

    #[test]
    fn resource_keys_reads_one_key_or_several_separated_by_commas() {
        let (a, b) = (ResourceKey::from_bytes([1; 32]), ResourceKey::from_bytes([2; 32]));
        let kids = |keys: Vec<ResourceKey>| keys.iter().map(|k| k.kid().to_string()).collect::<Vec<_>>();
        assert_eq!(kids(resource_keys([a.to_b64url().as_str()])), [a.kid()]);
        let list = format!(" {} , {} ", a.to_b64url(), b.to_b64url());
        assert_eq!(kids(resource_keys([list.as_str(), "not-a-key"])), [a.kid(), b.kid()]);
        assert!(resource_keys(["", ","]).is_empty());
    }

    #[test]
    fn sealed_server_looped_on_401_at_localhost() {
        // `make dev` gave the server the key of http://127.0.0.1:8788/mcp
        // only: a client at http://localhost:8788/mcp (its own resource, as
        // the metadata there says) got tokens sealed for that one, which
        // the server could not open, so it answered 401 and the client
        // signed in again, forever. With both keys, both URLs work.
        let localhost = ResourceKey::from_bytes([9; 32]);
        let at_localhost = sealed_token_with(&localhost, "http://localhost:8788/mcp", NOW + 60);
        let call = |keys: Vec<ResourceKey>| {
            let body = json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}});
            let r = request_at("http://localhost:8788", "POST", MCP_PATH)
                .with_header("authorization", &format!("Bearer {at_localhost}"))
                .with_header("content-type", "application/json")
                .with_body(body.to_string());
            handle(&r, &Settings { tokens: Tokens::Sealed { keys, jwks: vec![] }, ..settings() })
        };
        assert_eq!(call(vec![key()]).status, 401);
        let both = resource_keys([format!("{},{}", key().to_b64url(), localhost.to_b64url()).as_str()]);
        let r = call(both.clone());
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(json_of(&r)["result"]["content"][0]["text"].as_str().unwrap().contains("sk-…cdef"));
        // And the 127.0.0.1 URL still opens its own.
        assert_eq!(call_with(&sealed_token(RESOURCE, NOW + 60), &sealed_settings_with(both)).status, 200);
    }

    fn rpc(body: Value) -> Response {
        let r = request("POST", MCP_PATH)
            .with_header("authorization", &format!("Bearer {KEY}"))
            .with_header("content-type", "application/json")
            .with_body(body.to_string());
        handle(&r, &settings())
    }

    fn json_of(r: &Response) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn metadata_points_at_the_provider() {
        for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
            let r = handle(&request("GET", path).with_header("origin", "http://localhost:6274"), &settings());
            assert_eq!(r.status, 200, "{path}");
            let m = json_of(&r);
            assert_eq!(m["resource"], "http://127.0.0.1:8788/mcp");
            assert_eq!(m["authorization_servers"], json!(["http://127.0.0.1:8787"]));
            assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"));
        }
    }

    #[test]
    fn mcp_without_a_token_is_401_with_the_challenge() {
        for method in ["POST", "GET", "DELETE"] {
            let r = handle(&request(method, MCP_PATH).with_header("origin", "http://localhost:6274"), &settings());
            assert_eq!(r.status, 401, "{method}");
            assert_eq!(
                r.header("www-authenticate"),
                Some(
                    r#"Bearer resource_metadata="http://127.0.0.1:8788/.well-known/oauth-protected-resource/mcp", scope="api""#
                )
            );
            assert_eq!(r.header("access-control-expose-headers"), Some("WWW-Authenticate, mcp-session-id"));
        }
        let r = handle(&request("POST", MCP_PATH).with_header("authorization", "Basic eDp5"), &settings());
        assert!(r.header("www-authenticate").unwrap().contains(r#"error="invalid_token""#));
    }

    #[test]
    fn preflight_allows_the_mcp_headers() {
        let r = handle(&request("OPTIONS", MCP_PATH).with_header("origin", "http://localhost:6274"), &settings());
        assert_eq!(r.status, 204);
        assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:6274"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("authorization, content-type, mcp-protocol-version, mcp-session-id")
        );
        assert!(r.header("access-control-allow-credentials").is_none());
    }

    #[test]
    fn initialize_list_and_call() {
        let init = rpc(
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
        );
        assert_eq!(init.status, 200);
        assert_eq!(init.header("content-type"), Some("application/json"));
        let b = json_of(&init);
        assert_eq!(b["id"], 1);
        assert_eq!(b["result"]["protocolVersion"], "2025-06-18");
        assert_eq!(b["result"]["capabilities"], json!({"tools": {}}));
        assert!(b["result"]["serverInfo"]["name"].is_string());
        let unknown = json_of(&rpc(
            json!({"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"1999-01-01"}}),
        ));
        assert_eq!(unknown["result"]["protocolVersion"], DEFAULT_PROTOCOL_VERSION);

        let note = rpc(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        assert_eq!((note.status, note.body.len()), (202, 0));

        let list = json_of(&rpc(json!({"jsonrpc":"2.0","id":2,"method":"tools/list"})));
        assert_eq!(list["result"]["tools"][0]["name"], "whoami");

        let call = rpc(json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}));
        let text = json_of(&call)["result"]["content"][0]["text"].as_str().unwrap().to_string();
        assert!(text.contains("sk-…cdef"), "{text}");
        assert!(!call.text().contains(KEY), "the whole key is never echoed");
    }

    #[test]
    fn json_rpc_errors() {
        let r = json_of(&rpc(json!({"jsonrpc":"2.0","id":4,"method":"resources/list"})));
        assert_eq!(r["error"]["code"], -32601);
        let r = json_of(&rpc(json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope"}})));
        assert_eq!(r["error"]["code"], -32602);
        let bad = request("POST", MCP_PATH)
            .with_header("authorization", &format!("Bearer {KEY}"))
            .with_header("content-type", "application/json")
            .with_body("{not json");
        let r = handle(&bad, &settings());
        assert_eq!((r.status, json_of(&r)["error"]["code"].as_i64()), (400, Some(-32700)));
        assert_eq!(rpc(json!([{"jsonrpc":"2.0","id":1,"method":"ping"}])).status, 400);
        assert_eq!(json_of(&rpc(json!({"jsonrpc":"2.0","id":6,"method":"ping"})))["result"], json!({}));
    }

    #[test]
    fn get_with_a_token_is_405_and_other_paths_404() {
        let r = handle(&request("GET", MCP_PATH).with_header("authorization", &format!("Bearer {KEY}")), &settings());
        assert_eq!(r.status, 405);
        assert_eq!(handle(&request("GET", "/other"), &settings()).status, 404);
        assert_eq!(handle(&request("GET", "/"), &settings()).status, 200);
    }

    #[test]
    fn bad_issuer_is_a_clear_500() {
        let s = Settings { authorization_server: "not a url".into(), ..settings() };
        let r = handle(&request("POST", MCP_PATH), &s);
        assert_eq!(r.status, 500);
        assert!(r.text().contains("AUTHORIZATION_SERVER"));
    }

    #[test]
    fn answers_the_same_from_only_the_request_headers_it_copies() {
        // What MCP Inspector's browser sends, and more than this server reads.
        let full = |method: &str, path: &str| {
            request(method, path)
                .with_header("accept", "application/json, text/event-stream")
                .with_header("content-type", "application/json")
                .with_header("origin", "http://localhost:6274")
                .with_header("mcp-protocol-version", "2025-06-18")
                .with_header("mcp-session-id", "s-1")
                .with_header("user-agent", "node")
                .with_header("content-length", "99")
        };
        let call = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;
        let token = sealed_token(RESOURCE, NOW + 60);
        let replaced = |r: Request, name: &str, value: &str| {
            let mut r = r;
            r.headers.retain(|(n, _)| n != name);
            r.with_header(name, value)
        };
        let authorized = full("POST", MCP_PATH).with_header("authorization", &format!("Bearer {token}"));
        let requests = [
            authorized.clone().with_body(call),
            full("POST", MCP_PATH).with_body(call),
            replaced(authorized.clone(), "mcp-protocol-version", "1999-01-01").with_body(call),
            authorized.clone().with_body("not json"),
            replaced(authorized, "content-type", "text/plain").with_body(call),
            full("OPTIONS", MCP_PATH),
            full("GET", "/.well-known/oauth-protected-resource/mcp"),
        ];
        for r in &requests {
            let mut copied = r.clone();
            copied.headers.retain(|(n, _)| REQUEST_HEADERS.contains(&n.as_str()));
            let (a, b) = (handle(r, &sealed_settings()), handle(&copied, &sealed_settings()));
            assert_eq!(
                (a.status, &a.headers, a.text()),
                (b.status, &b.headers, b.text()),
                "{} {}",
                r.method,
                r.url.path()
            );
        }
        let statuses: Vec<u16> = requests.iter().map(|r| handle(r, &sealed_settings()).status).collect();
        assert_eq!(statuses, [200, 401, 400, 400, 415, 204, 200]);
    }
}
