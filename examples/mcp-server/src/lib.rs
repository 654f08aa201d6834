//! An MCP server on Cloudflare Workers whose users sign in through
//! parallel-oauth-provider: MCP clients get a 401 pointing at this
//! server's protected-resource metadata, which names the provider; after
//! the OAuth flow they call `/mcp` with the user's API key as the bearer
//! token. See README.md for the walkthrough with MCP Inspector.
//!
//! `mcp.rs` is the server (plain Rust, tested natively); this file is the
//! Worker glue: request/response conversion and the environment.

pub mod mcp;

#[cfg(target_arch = "wasm32")]
mod glue {
    use parallel_oauth_provider::workers::{from_worker, to_worker};
    use worker::{event, Context, Env};

    use crate::mcp::{self, Settings, MAX_BODY};

    /// The provider's issuer when `AUTHORIZATION_SERVER` is not set: the
    /// root project's `make dev`.
    const DEFAULT_AUTHORIZATION_SERVER: &str = "http://127.0.0.1:8787";

    #[event(fetch)]
    async fn fetch(mut req: worker::Request, env: Env, _ctx: Context) -> worker::Result<worker::Response> {
        let authorization_server = env
            .var("AUTHORIZATION_SERVER")
            .map(|v| v.to_string())
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_AUTHORIZATION_SERVER.to_string());
        let request = from_worker(&mut req, MAX_BODY).await?;
        to_worker(mcp::handle(&request, &Settings { authorization_server }))
    }
}
