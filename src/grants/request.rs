//! The authorization request the user is asked to grant, once validated:
//! what the consent form carries and the code is bound to.

use crate::json::{Error, Fields, Object};
use crate::protocol::pkce::CodeChallenge;

/// A validated authorization request, ready for the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The `client_id` as sent.
    pub client_id: String,
    /// The redirect URI as sent (validated and allowed for the client).
    pub redirect_uri: String,
    /// The client's `state`, returned untouched.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: CodeChallenge,
    /// The requested scope, as sent.
    pub scope: Option<String>,
    /// The RFC 8707 resource, normalized.
    pub resource: Option<String>,
    /// The name the client gave itself at registration (unverified).
    pub client_name: Option<String>,
}

impl AuthRequest {
    /// Writes the request's members into `o` (the consent form and the
    /// code's grant carry it; a field that is `None` is left out).
    pub fn write_into(&self, o: &mut Object) {
        o.insert("client_id", &self.client_id);
        o.insert("redirect_uri", &self.redirect_uri);
        o.insert_some("state", self.state.as_deref());
        o.insert("code_challenge", self.code_challenge.as_str());
        o.insert_some("scope", self.scope.as_deref());
        o.insert_some("resource", self.resource.as_deref());
        o.insert_some("client_name", self.client_name.as_deref());
    }

    /// Reads what [`AuthRequest::write_into`] wrote.
    pub fn read(f: &Fields) -> Result<AuthRequest, Error> {
        Ok(AuthRequest {
            client_id: f.str("client_id")?,
            redirect_uri: f.str("redirect_uri")?,
            state: f.opt_str("state")?,
            code_challenge: f.read("code_challenge")?,
            scope: f.opt_str("scope")?,
            resource: f.opt_str("resource")?,
            client_name: f.opt_str("client_name")?,
        })
    }
}

impl crate::json::ToJson for AuthRequest {
    fn to_json(&self) -> crate::json::Value {
        let mut o = Object::new();
        self.write_into(&mut o);
        o.into()
    }
}

impl crate::json::FromJson for AuthRequest {
    fn from_json(value: &crate::json::Value) -> Result<AuthRequest, Error> {
        AuthRequest::read(&Fields::of(value)?)
    }
}
