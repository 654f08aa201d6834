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
    use parallel_oauth_provider::{Request, Response};
    use worker::{event, Context, Env, Headers};

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
        let request = from_worker(&mut req).await?;
        to_worker(mcp::handle(&request, &Settings { authorization_server }))
    }

    async fn from_worker(req: &mut worker::Request) -> worker::Result<Request> {
        let method = req.method().to_string();
        let url = req.url()?;
        let headers: Vec<(String, String)> = req.headers().entries().collect();
        let declared = req.headers().get("content-length")?.and_then(|l| l.parse::<usize>().ok());
        let body = match method.as_str() {
            "GET" | "HEAD" | "OPTIONS" => Vec::new(),
            // Too large to read: a placeholder one byte over makes mcp.rs answer 413.
            _ if declared.is_some_and(|l| l > MAX_BODY) => vec![0; MAX_BODY + 1],
            _ => req.bytes().await.unwrap_or_default(),
        };
        Ok(Request { method, url, headers, body })
    }

    fn to_worker(response: Response) -> worker::Result<worker::Response> {
        let headers = Headers::new();
        for (name, value) in &response.headers {
            headers.append(name, value)?;
        }
        let r = if response.body.is_empty() {
            worker::Response::empty()?
        } else {
            worker::Response::from_bytes(response.body)?
        };
        Ok(r.with_status(response.status).with_headers(headers))
    }
}
