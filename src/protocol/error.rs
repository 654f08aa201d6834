//! Protocol error codes (RFC 6749, 7591, 8707) and the one place that turns
//! them into JSON responses.

use crate::http::Response;
use crate::json::Value;

/// An error code defined by an OAuth RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749 §5.2: "The request is missing a required parameter, includes an
    /// unsupported parameter value (other than grant type), repeats a parameter,
    /// includes multiple credentials, ... or is otherwise malformed."
    InvalidRequest,
    /// RFC 6749 §5.2: "Client authentication failed (e.g., unknown client, no
    /// client authentication included, or unsupported authentication method)."
    InvalidClient,
    /// RFC 6749 §5.2: "The authenticated client is not authorized to use
    /// this authorization grant type."
    UnauthorizedClient,
    /// RFC 6749 §5.2: "The provided authorization grant ... is invalid, expired,
    /// revoked, does not match the redirection URI used in the authorization
    /// request, or was issued to another client."
    InvalidGrant,
    /// RFC 6749 §5.2: "The authorization grant type is not supported by the
    /// authorization server."
    UnsupportedGrantType,
    /// RFC 6749 §4.1.2.1: "The authorization server does not support obtaining
    /// an authorization code using this method."
    UnsupportedResponseType,
    /// RFC 6749 §4.1.2.1: "The requested scope is invalid, unknown, or malformed."
    InvalidScope,
    /// RFC 6749 §4.1.2.1: "The resource owner or authorization server denied the request."
    AccessDenied,
    /// RFC 6749 §4.1.2.1: "The authorization server is currently unable to handle
    /// the request due to a temporary overloading or maintenance of the server."
    TemporarilyUnavailable,
    /// RFC 6749 §4.1.2.1: "The authorization server encountered an unexpected
    /// condition that prevented it from fulfilling the request."
    ServerError,
    /// RFC 8707 §2: "The requested resource is invalid, missing, unknown, or malformed."
    InvalidTarget,
    /// RFC 7591 §3.2.2: "The value of one or more redirection URIs is invalid."
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: "The value of one of the client metadata fields is invalid."
    InvalidClientMetadata,
    /// RFC 8628 §3.5: "The authorization request is still pending as the end
    /// user hasn't yet completed the user-interaction steps."
    AuthorizationPending,
    /// RFC 8628 §3.5: "A variant of 'authorization_pending', the authorization
    /// request is still pending and polling should continue, but the interval
    /// MUST be increased by 5 seconds for this and all subsequent requests."
    SlowDown,
    /// RFC 8628 §3.5: "The 'device_code' has expired, and the device
    /// authorization session has concluded."
    ExpiredToken,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
        }
    }

    /// The HTTP status of a JSON error with this code.
    fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient => 401,
            ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => 503,
            _ => 400,
        }
    }
}

/// An error with its code and a human-readable description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The RFC code.
    pub code: ErrorCode,
    /// `error_description`: printable ASCII, never a secret.
    pub description: &'static str,
}

impl OAuthError {
    /// An error with a code and a description.
    pub const fn new(code: ErrorCode, description: &'static str) -> Self {
        OAuthError { code, description }
    }

    /// `invalid_request` with a description.
    pub const fn invalid_request(description: &'static str) -> Self {
        OAuthError::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub const fn invalid_grant(description: &'static str) -> Self {
        OAuthError::new(ErrorCode::InvalidGrant, description)
    }

    /// The store failed: nothing was issued, the client may retry.
    pub const fn unavailable() -> Self {
        OAuthError::new(ErrorCode::TemporarilyUnavailable, "storage is unavailable; nothing was issued, try again")
    }

    /// The JSON error response (RFC 6749 §5.2), never cacheable.
    pub fn to_response(&self) -> Response {
        json_error(self.code.status(), self.code.as_str(), self.description)
    }
}

/// A JSON error body `{error, error_description}` with an explicit status,
/// for the few answers that are not an OAuth code's own (404, 405, 413).
pub fn json_error(status: u16, error: &str, description: &str) -> Response {
    let mut response =
        Response::json(status, &Value::object([("error", error.into()), ("error_description", description.into())]))
            .no_store();
    if status == 401 {
        response = response.with_header("www-authenticate", "Basic realm=\"oauth\"");
    }
    response
}

/// An answer of an endpoint a client may authenticate to with HTTP Basic
/// (/token, /revoke, /device_authorization), `invalid_client` shaped as RFC
/// 6749 §5.2 asks: 401 with a `Basic` challenge when the client tried the
/// Authorization header, else 400 without one. A public client that sent
/// none was never challenged, and a 401 made openid-client (oauth4webapi)
/// report the challenge and hide the error, so the client never learned to
/// register again.
pub fn challenged_if_tried(mut response: Response, authorization: Option<&str>) -> Response {
    if response.status == 401 && authorization.is_none() {
        response.status = 400;
        response.headers.retain(|(name, _)| !name.eq_ignore_ascii_case("www-authenticate"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a public client's bad client_id (no Authorization header)
    /// was 401 with a Basic challenge; openid-client then threw its
    /// challenge error with `error` undefined.
    #[test]
    fn invalid_client_without_an_authorization_header_was_challenged() {
        let error = OAuthError::new(ErrorCode::InvalidClient, "unknown client_id");
        let r = challenged_if_tried(error.to_response(), None);
        assert_eq!(r.status, 400);
        assert_eq!(r.header("www-authenticate"), None);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"], "invalid_client");
        // Tried the header: still 401 with the challenge (RFC 6749 §5.2's MUST).
        let r = challenged_if_tried(error.to_response(), Some("Basic eDp5"));
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
        // Any other answer passes unchanged.
        let grant = OAuthError::invalid_grant("expired").to_response();
        assert_eq!(challenged_if_tried(grant.clone(), None).status, 400);
        assert_eq!(challenged_if_tried(Response::empty(200), None).status, 200);
    }

    #[test]
    fn invalid_client_is_401_with_a_challenge() {
        let r = OAuthError::new(ErrorCode::InvalidClient, "no client").to_response();
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    }

    #[test]
    fn errors_are_json_and_not_cacheable() {
        let r = OAuthError::invalid_grant("expired").to_response();
        assert_eq!(r.status, 400);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["error"], "invalid_grant");
        assert_eq!(v["error_description"], "expired");
    }

    #[test]
    fn unavailable_is_503() {
        assert_eq!(OAuthError::unavailable().to_response().status, 503);
    }
}
