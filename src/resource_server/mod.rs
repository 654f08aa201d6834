//! For resource servers (MCP servers) protected by this provider: the
//! RFC 9728 protected-resource metadata that points clients at the
//! provider, the `401` challenge that starts their OAuth flow, and the
//! bearer token (RFC 6750) read from a request.
//!
//! Platform-free like the rest of the core: it works on the crate's
//! [`Request`](crate::Request) and [`Response`](crate::Response), so a Worker converts at its edge (see
//! `examples/mcp-server`).
//!
//! ```
//! use parallel_oauth_provider::resource_server::{bearer_token, ProtectedResource};
//! use parallel_oauth_provider::Request;
//!
//! let resource = ProtectedResource::new("https://mcp.example/mcp", "https://oauth.parallel.ai")
//!     .unwrap()
//!     .with_scopes(&["api"])
//!     .with_resource_name("Parallel MCP");
//! assert_eq!(
//!     resource.metadata_url(),
//!     "https://mcp.example/.well-known/oauth-protected-resource/mcp"
//! );
//!
//! let request = Request::new("POST", "https://mcp.example/mcp".parse().unwrap());
//! let response = match bearer_token(&request) {
//!     Some(token) => unreachable!("no Authorization header: {token:?}"),
//!     None => resource.unauthorized(),
//! };
//! assert_eq!(response.status, 401);
//! assert_eq!(
//!     response.header("www-authenticate"),
//!     Some(r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="api""#)
//! );
//! ```
//!
//! ## Security
//!
//! - In the default (passthrough) token mode the bearer token *is* the
//!   user's API key: [`BearerToken`] never prints it (`Debug` is redacted),
//!   compares in constant time, and offers [`BearerToken::masked`] for logs
//!   and answers.
//! - The token is read only from the `Authorization` header (RFC 6750
//!   §2.1), never from a query string or a form body; anything but exactly
//!   one well-formed `Bearer` credential counts as no token.
//! - Whether a token is *valid* is the resource server's decision (for a
//!   passthrough key, the upstream API's); answer
//!   [`ProtectedResource::invalid_token`] when it is not, so that clients
//!   start a fresh authorization.

mod bearer;
mod protected;
mod sealed;

/// Opening sealed tokens: the resource key, the provider's JWKS, what opens.
pub use crate::crypto::jose::{parse_jwks, VerifyingKey};
pub use crate::grants::access_token::{Format, Opened, Refusal, ResourceKey, LEEWAY};
pub(crate) use bearer::{b64token, bearer_header, BearerHeader};
pub use bearer::{bearer_token, mask, parse_bearer, BearerToken, MAX_TOKEN_LEN};
pub use protected::{InvalidResource, ProtectedResource, METADATA_PATH};
