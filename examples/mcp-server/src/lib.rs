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

    use parallel_oauth_provider::resource_server::{bearer_token, parse_jwks, ResourceKey, VerifyingKey};
    use parallel_oauth_provider::workers::{from_worker, install_p256, to_worker};
    use worker::{event, Context, Date, Env};

    use crate::mcp::{self, Settings, Tokens, MAX_BODY};

    /// The provider's issuer when `AUTHORIZATION_SERVER` is not set: the
    /// root project's `make dev`.
    const DEFAULT_AUTHORIZATION_SERVER: &str = "http://127.0.0.1:8787";

    /// How long the provider's JWKS is kept before it is fetched again.
    const JWKS_LIFETIME: u64 = 600;

    thread_local! {
        static JWKS: RefCell<Option<(u64, Vec<VerifyingKey>)>> = const { RefCell::new(None) };
    }

    fn value(env: &Env, name: &str) -> Option<String> {
        env.secret(name)
            .map(|v| v.to_string())
            .or_else(|_| env.var(name).map(|v| v.to_string()))
            .ok()
            .filter(|v| !v.trim().is_empty())
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
        let fetched = async {
            let mut response = worker::Fetch::Url(url.parse().ok()?).send().await.ok()?;
            parse_jwks(&response.text().await.ok()?).ok()
        };
        let keys = fetched.await.unwrap_or_default();
        JWKS.with(|j| *j.borrow_mut() = Some((now, keys.clone())));
        keys
    }

    #[event(fetch)]
    async fn fetch(mut req: worker::Request, env: Env, _ctx: Context) -> worker::Result<worker::Response> {
        let authorization_server = value(&env, "AUTHORIZATION_SERVER")
            .map(|v| v.trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_AUTHORIZATION_SERVER.to_string());
        let now = Date::now().as_millis() / 1000;
        let request = from_worker(&mut req, MAX_BODY).await?;
        let tokens = if value(&env, "TOKEN_MODE").as_deref() == Some("passthrough") {
            Tokens::Passthrough
        } else {
            let keys = ["RESOURCE_KEY", "RESOURCE_KEY_PREVIOUS"]
                .iter()
                .filter_map(|name| value(&env, name).and_then(|k| ResourceKey::from_b64url(&k)))
                .collect();
            // A JWT (three parts) needs the provider's signing keys.
            let is_jwt = bearer_token(&request).is_some_and(|t| t.expose().split('.').count() == 3);
            let jwks = if is_jwt { jwks(&authorization_server, now).await } else { Vec::new() };
            Tokens::Sealed { keys, jwks }
        };
        // CLOCK_LEEWAY: seconds past a token's exp still accepted (60; 0 when
        // the provider runs on the same clock).
        let leeway = value(&env, "CLOCK_LEEWAY").and_then(|v| v.trim().parse().ok()).unwrap_or(60);
        to_worker(mcp::handle(&request, &Settings { authorization_server, tokens, now, leeway }))
    }
}
