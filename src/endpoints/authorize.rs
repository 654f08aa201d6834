//! GET /authorize: the authorization request (RFC 6749 §4.1.1 with PKCE,
//! RFC 8707 `resource`), validated in the order that decides where errors
//! may go: until the client and redirect URI are known good, errors can only
//! be shown as a page.

use crate::clients::client::Client;
use crate::config::TokenMode;
use crate::crypto::entropy::Entropy;
use crate::crypto::seal::Keys;
use crate::endpoints::{consent, redirect, Context};
use crate::grants::request::AuthRequest;
use crate::http::{Request, Response};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::form::Params;
use crate::protocol::pkce::CodeChallenge;
use crate::protocol::redirect::{RedirectUri, Refusal};
use crate::protocol::resource::ResourcePolicy;

/// The longest `state` we carry, in bytes.
pub const MAX_STATE_LEN: usize = 4096;
/// The longest query string /authorize reads, in bytes.
pub const MAX_QUERY_LEN: usize = 16 * 1024;

/// Where an authorization error may be reported.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Before the client and redirect URI are validated: a page, never a redirect.
    Page {
        /// HTTP status of the page.
        status: u16,
        /// The RFC error code shown on the page.
        code: ErrorCode,
        /// What is wrong, for the user.
        message: &'static str,
    },
    /// After: a redirect to the client with `error`, `state` and `iss`.
    Redirect {
        /// The validated redirect URI.
        redirect_uri: Box<RedirectUri>,
        /// The client's state, if it sent a usable one.
        state: Option<String>,
        /// The error.
        error: OAuthError,
    },
}

fn page(status: u16, code: ErrorCode, message: &'static str) -> AuthorizeError {
    AuthorizeError::Page { status, code, message }
}

/// Reads the query of GET /authorize and its `client_id`.
pub fn read(query: &str) -> Result<(Params, String), AuthorizeError> {
    if query.len() > MAX_QUERY_LEN {
        return Err(page(414, ErrorCode::InvalidRequest, "The authorization request is too long."));
    }
    let params = Params::parse_authorize(query).map_err(|e| page(400, e.code, e.description))?;
    let client_id = params
        .get("client_id")
        .ok_or(page(400, ErrorCode::InvalidRequest, "The request has no client_id."))?
        .to_string();
    Ok((params, client_id))
}

/// Validates the query of GET /authorize for a client resolved from its
/// `client_id` (by [`Client::resolve`] or a metadata document).
pub fn parse(query: &str, keys: &Keys, resources: &ResourcePolicy) -> Result<AuthRequest, AuthorizeError> {
    let (params, client_id) = read(query)?;
    validate(&params, &client_id, Client::resolve(&client_id, keys), resources)
}

/// The parameters of an authorization request this endpoint reads (RFC
/// 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2).
const AUTHORIZE_PARAMETERS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

/// Validates a read request once its client is known.
pub fn validate(
    params: &Params,
    client_id: &str,
    client: Result<Client, Refusal>,
    resources: &ResourcePolicy,
) -> Result<AuthRequest, AuthorizeError> {
    let client = client.map_err(|m| page(400, ErrorCode::InvalidClient, m))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(raw) => RedirectUri::parse(raw).map_err(|m| page(400, ErrorCode::InvalidRequest, m))?,
        None => client.default_redirect().cloned().ok_or(page(
            400,
            ErrorCode::InvalidRequest,
            "The request has no redirect_uri.",
        ))?,
    };
    client.allows(&redirect_uri).map_err(|m| page(400, ErrorCode::InvalidRequest, m))?;

    // From here on, errors go back to the client, with its `state` whatever
    // its length (RFC 6749 §4.1.2.1: a client checks it before the error).
    let state = params.get("state").map(str::to_string);
    let fail = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: Box::new(redirect_uri.clone()),
        state: state.clone(),
        error,
    };
    if params.get("state").is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(fail(OAuthError::invalid_request("state is longer than 4096 bytes")));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(fail(OAuthError::invalid_request("response_type is required and must be code"))),
        Some(_) => {
            return Err(fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )))
        }
    }
    if params.repeated().iter().any(|n| n == "resource") {
        return Err(fail(crate::protocol::form::repeated_resource()));
    }
    // RFC 6749 §3.1: a parameter of the request at most once; one this
    // endpoint does not define is ignored, repeated or not.
    if params.repeated().iter().any(|n| AUTHORIZE_PARAMETERS.contains(&n.as_str())) {
        return Err(fail(OAuthError::invalid_request("a parameter of the authorization request is repeated")));
    }
    let code_challenge =
        CodeChallenge::parse(params.get("code_challenge"), params.get("code_challenge_method")).map_err(fail)?;
    let scope = params.get("scope").map(check_scope).transpose().map_err(fail)?;
    let resource = params.get("resource").map(|r| resources.check(r)).transpose().map_err(fail)?;
    Ok(AuthRequest {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.as_str().to_string(),
        state,
        code_challenge,
        scope,
        resource,
        client_name: client.name().map(str::to_string),
    })
}

/// RFC 6749 §3.3: space-separated tokens of `%x21 / %x23-5B / %x5D-7E`.
/// Any such scope is accepted (the key carries no scopes of its own).
pub(crate) fn check_scope(scope: &str) -> Result<String, OAuthError> {
    let ok = scope.len() <= 1024
        && scope.split(' ').all(|t| {
            !t.is_empty() && t.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        });
    if !ok {
        return Err(OAuthError::new(ErrorCode::InvalidScope, "scope must be space-separated printable ASCII tokens"));
    }
    // A scope is a set (RFC 6749 §3.3): each token once, in the order sent.
    let mut tokens: Vec<&str> = Vec::new();
    for t in scope.split(' ') {
        if !tokens.contains(&t) {
            tokens.push(t);
        }
    }
    Ok(tokens.join(" "))
}

/// The scope of a request that names none (RFC 6749 §3.3: the server
/// uses a pre-defined default or fails): every scope the metadata lists,
/// so the token carries the scope resource servers check (`api`).
pub(crate) fn default_scope(config: &crate::Config) -> Option<String> {
    (!config.scopes_supported.is_empty()).then(|| config.scopes_supported.join(" "))
}

/// In sealed mode every grant is bound to one resource: a request without
/// `resource` gets `DEFAULT_RESOURCE`, or `invalid_target` without one.
/// A request without `scope` gets [`default_scope`].
fn bind_defaults(mut auth: AuthRequest, ctx: &Context) -> Result<AuthRequest, AuthorizeError> {
    if auth.scope.is_none() {
        auth.scope = default_scope(&ctx.config);
    }
    let tokens = &ctx.config.tokens;
    if auth.resource.is_some() || tokens.mode != TokenMode::Sealed {
        return Ok(auth);
    }
    match &tokens.default_resource {
        Some(default) => {
            auth.resource = Some(default.clone());
            Ok(auth)
        }
        None => Err(AuthorizeError::Redirect {
            redirect_uri: Box::new(
                RedirectUri::parse(&auth.redirect_uri).map_err(|m| page(400, ErrorCode::InvalidRequest, m))?,
            ),
            state: auth.state.clone(),
            error: OAuthError::new(
                ErrorCode::InvalidTarget,
                "this provider issues tokens for one resource: send resource",
            ),
        }),
    }
}

/// GET /authorize: validate, then show the consent page.
pub(crate) async fn get(ctx: &Context, request: &Request, now: u64, entropy: &mut Entropy) -> Response {
    let query = request.url.query().unwrap_or("");
    let validated = match read(query) {
        Ok((params, client_id)) => {
            let client = ctx.client(&client_id, now).await;
            validate(&params, &client_id, client, &ctx.config.resources).and_then(|auth| bind_defaults(auth, ctx))
        }
        Err(e) => Err(e),
    };
    match validated {
        Ok(auth) => consent::show(&ctx.config, &ctx.keys, request, auth, now, entropy),
        Err(AuthorizeError::Page { status, code, message }) => {
            ctx.page(status, "This authorization request is not valid", message, Some(code))
        }
        Err(AuthorizeError::Redirect { redirect_uri, state, error }) => {
            let issuer = ctx.config.issuer_for(&request.origin());
            let mut params = vec![("error", error.code.as_str()), ("error_description", error.description)];
            if let Some(state) = &state {
                params.push(("state", state));
            }
            params.push(("iss", &issuer));
            redirect(302, &redirect_uri.with_params(&params))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret::Secret;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn keys() -> Keys {
        Keys::derive(&Secret::new(&"s".repeat(40)).unwrap(), None)
    }

    fn query(extra: &str) -> String {
        format!("client_id=yourapp.com&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcallback&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}")
    }

    fn run(q: &str) -> Result<AuthRequest, AuthorizeError> {
        parse(q, &keys(), &ResourcePolicy::default())
    }

    #[test]
    fn valid_request_parses() {
        let r = run(&query("&state=xyz&scope=api&resource=https%3A%2F%2Fmcp.example")).unwrap();
        assert_eq!(r.client_id, "yourapp.com");
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.scope.as_deref(), Some("api"));
        assert_eq!(r.resource.as_deref(), Some("https://mcp.example/"));
    }

    #[test]
    fn client_and_redirect_errors_are_pages() {
        for q in [
            "redirect_uri=https%3A%2F%2Fyourapp.com%2Fcb",
            "client_id=yourapp.com",
            "client_id=yourapp.com&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            "client_id=yourapp.com&redirect_uri=javascript%3Aalert(1)",
            "client_id=a&client_id=b",
            "client_id=%zz",
            "client_id=pc1.forged.tag&redirect_uri=https%3A%2F%2Fa.example%2Fcb",
        ] {
            assert!(matches!(run(q), Err(AuthorizeError::Page { .. })), "{q}");
        }
        assert!(matches!(run(&"a".repeat(MAX_QUERY_LEN + 1)), Err(AuthorizeError::Page { status: 414, .. })));
    }

    fn redirect_error(q: &str) -> (ErrorCode, Option<String>) {
        match run(q) {
            Err(AuthorizeError::Redirect { error, state, .. }) => (error.code, state),
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn later_errors_redirect_with_state() {
        let base = "client_id=yourapp.com&redirect_uri=https%3A%2F%2Fyourapp.com%2Fcb&state=s1";
        assert_eq!(redirect_error(base), (ErrorCode::InvalidRequest, Some("s1".into())));
        assert_eq!(redirect_error(&format!("{base}&response_type=token")).0, ErrorCode::UnsupportedResponseType);
        let pkce = format!("{base}&response_type=code&code_challenge={CHALLENGE}");
        assert_eq!(redirect_error(&pkce).0, ErrorCode::InvalidRequest);
        assert_eq!(redirect_error(&format!("{pkce}&code_challenge_method=plain")).0, ErrorCode::InvalidRequest);
        let full = format!("{pkce}&code_challenge_method=S256");
        assert_eq!(redirect_error(&format!("{full}&scope=a%22b")).0, ErrorCode::InvalidScope);
        assert_eq!(redirect_error(&format!("{full}&resource=mcp")).0, ErrorCode::InvalidTarget);
    }

    /// Regression (in part): an oversized `state` was refused without it, so
    /// a client that checks `state` (oauth4webapi) reported a missing state
    /// instead of the server's `invalid_request` (RFC 6749 §4.1.2.1).
    #[test]
    fn an_oversized_state_was_refused_without_its_state() {
        let state = "s".repeat(2048);
        assert_eq!(run(&query(&format!("&state={state}"))).unwrap().state.unwrap(), state);
        let long = "s".repeat(MAX_STATE_LEN + 1);
        let (code, echoed) = redirect_error(&query(&format!("&state={long}")));
        assert_eq!((code, echoed), (ErrorCode::InvalidRequest, Some(long)));
    }
}
