//! The authorization request the user is asked to grant, once validated:
//! what the consent form carries and the code is bound to.

use crate::protocol::pkce::CodeChallenge;

/// A validated authorization request, ready for the consent page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuthRequest {
    /// The `client_id` as sent.
    pub client_id: String,
    /// The redirect URI as sent (validated and allowed for the client).
    pub redirect_uri: String,
    /// The client's `state`, returned untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: CodeChallenge,
    /// The requested scope, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The RFC 8707 resource, normalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The name the client gave itself at registration (unverified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}
