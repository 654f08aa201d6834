//! An MCP server on Cloudflare Workers whose users sign in through
//! parallel-oauth-provider: MCP clients get a 401 pointing at this
//! server's protected-resource metadata, which names the provider; after
//! the OAuth flow they call `/mcp` with a token sealed for this server
//! (the default, `TOKEN_MODE=sealed`: it opens it with its own
//! `RESOURCE_KEY`) or with the user's API key itself (`TOKEN_MODE=passthrough`).
//! See README.md for the walkthrough with MCP Inspector.
//!
//! `mcp.rs` is the server (plain Rust, tested natively); this file is the
//! Worker glue: request/response conversion and the environment.

pub mod mcp;

#[cfg(target_arch = "wasm32")]
mod glue {
    use std::cell::RefCell;

    use parallel_oauth_provider::clients::cimd::Fetch;
    use parallel_oauth_provider::resource_server::{bearer_token, parse_jwks, VerifyingKey};
    use parallel_oauth_provider::workers::{install_p256, serve, var, WorkerFetch};
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    use crate::mcp::{self, Settings, Tokens, MAX_BODY, REQUEST_HEADERS};

    /// The provider's issuer when `AUTHORIZATION_SERVER` is not set: the
    /// root project's `make dev`.
    const DEFAULT_AUTHORIZATION_SERVER: &str = "http://127.0.0.1:8787";

    /// How long the provider's JWKS is kept before it is fetched again.
    const JWKS_LIFETIME: u64 = 600;

    thread_local! {
        /// The settings from `env`, read at this isolate's first request
        /// (`now` and `jwks` are filled in per request).
        static SETTINGS: RefCell<Option<Settings>> = const { RefCell::new(None) };
        static JWKS: RefCell<Option<(u64, Vec<VerifyingKey>)>> = const { RefCell::new(None) };
    }

    /// The settings of this Worker's vars and secrets.
    fn settings_from(env: &JsValue) -> Settings {
        let authorization_server = var(env, "AUTHORIZATION_SERVER")
            .map(|v| v.trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_AUTHORIZATION_SERVER.to_string());
        let tokens = if var(env, "TOKEN_MODE").as_deref() == Some("passthrough") {
            Tokens::Passthrough
        } else {
            let values: Vec<String> =
                ["RESOURCE_KEY", "RESOURCE_KEY_PREVIOUS"].iter().filter_map(|name| var(env, name)).collect();
            Tokens::Sealed { keys: mcp::resource_keys(values.iter().map(String::as_str)), jwks: Vec::new() }
        };
        // CLOCK_LEEWAY: seconds past a token's exp still accepted (60; 0 when
        // the provider runs on the same clock).
        let leeway = var(env, "CLOCK_LEEWAY").and_then(|v| v.trim().parse().ok()).unwrap_or(60);
        Settings { authorization_server, tokens, now: 0, leeway }
    }

    /// The provider's JWKS (for JWT access tokens), fetched once per
    /// isolate and again after ten minutes; empty when unreachable.
    async fn jwks(authorization_server: &str, now: u64) -> Vec<VerifyingKey> {
        if let Some(keys) =
            JWKS.with(|j| j.borrow().as_ref().filter(|(at, _)| now < at + JWKS_LIFETIME).map(|(_, k)| k.clone()))
        {
            return keys;
        }
        // ES256 in a Worker is the runtime's node:crypto (nodejs_compat).
        install_p256();
        let url = format!("{authorization_server}/.well-known/jwks.json");
        let fetched = WorkerFetch.fetch(&url).await.ok().filter(|f| f.status == 200);
        let keys = fetched.and_then(|f| parse_jwks(std::str::from_utf8(&f.body).ok()?).ok()).unwrap_or_default();
        JWKS.with(|j| *j.borrow_mut() = Some((now, keys.clone())));
        keys
    }

    /// The Worker's `fetch` handler: a `Response`, or a `Promise` of one
    /// when the body is still to be read or the JWKS to be fetched.
    #[wasm_bindgen]
    pub fn fetch(req: web_sys::Request, env: JsValue, _ctx: JsValue) -> JsValue {
        let mut settings = SETTINGS.with(|s| s.borrow_mut().get_or_insert_with(|| settings_from(&env)).clone());
        settings.now = (js_sys::Date::now() / 1000.0) as u64;
        serve(&req, MAX_BODY, REQUEST_HEADERS, move |request| async move {
            if let Tokens::Sealed { jwks: ref mut keys, .. } = settings.tokens {
                // A JWT (three parts) needs the provider's signing keys.
                if bearer_token(&request).is_some_and(|t| t.expose().split('.').count() == 3) {
                    *keys = jwks(&settings.authorization_server, settings.now).await;
                }
            }
            mcp::handle(&request, &settings)
        })
    }
}
