//! CORS for the endpoints browsers call directly (discovery, /register,
//! /token): any origin, never credentials. /authorize has none.

use crate::http::{Request, Response};

/// Adds CORS headers reflecting the request's `Origin`.
pub fn allow(request: &Request, response: Response) -> Response {
    let origin = request.header("origin").unwrap_or("*").to_string();
    response
        .with_header("access-control-allow-origin", &origin)
        .with_header("access-control-expose-headers", "WWW-Authenticate")
        .with_header("vary", "Origin")
}

/// The answer to a preflight.
pub fn preflight(request: &Request) -> Response {
    allow(request, Response::empty(204))
        .with_header("access-control-allow-methods", "GET, POST, OPTIONS")
        .with_header("access-control-allow-headers", "content-type, authorization, mcp-protocol-version")
        .with_header("access-control-max-age", "86400")
}
