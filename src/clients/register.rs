//! POST /register: RFC 7591 dynamic client registration for public clients.

use crate::clients::client::{is_displayable_name, Client, GrantTypes, MAX_CLIENT_NAME};
use crate::crypto::seal::Keys;
use crate::json::{Object, Value};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::redirect::RedirectUri;

/// The most redirect URIs one registration may carry.
pub const MAX_REDIRECT_URIS: usize = 10;

fn metadata_error(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description)
}

/// Registers a client from a JSON body; returns the 201 body. Its
/// `grant_types` are those asked for that /token answers (`supported`, as
/// the metadata lists them), `authorization_code` and `refresh_token` when
/// none are asked for; a signed client id carries them, and /token and
/// /device_authorization hold the client to them.
///
/// A device (a CLI, a TV app) may register for the device grant without
/// `authorization_code`: it then needs no redirect URI (RFC 7591 §2: they
/// are for redirect-based flows) and gets no response type, so /authorize
/// refuses it and only /device_authorization serves it.
pub fn register(
    media_type: Option<&str>,
    body: &[u8],
    keys: &Keys,
    supported: &[&'static str],
    now: u64,
) -> Result<Value, OAuthError> {
    if let Some(media_type) = media_type {
        if media_type != "application/json" && !media_type.ends_with("+json") {
            return Err(metadata_error("the registration must be a JSON object (Content-Type: application/json)"));
        }
    }
    let meta = crate::json::parse(body).map_err(|_| metadata_error("the registration must be a JSON object"))?;
    let meta = meta.as_object().ok_or(metadata_error("the registration must be a JSON object"))?;
    let device_only = is_device_only(meta, supported)?;
    let raw_uris = match meta.get("redirect_uris") {
        None | Some(Value::Null) if device_only => &[][..],
        uris => uris
            .and_then(|v| v.as_array())
            .filter(|a| (device_only || !a.is_empty()) && a.len() <= MAX_REDIRECT_URIS)
            .ok_or(OAuthError::new(ErrorCode::InvalidRedirectUri, "redirect_uris must be an array of 1 to 10 URIs"))?,
    };
    let mut uris = Vec::with_capacity(raw_uris.len());
    for raw in raw_uris {
        let raw =
            raw.as_str().ok_or(OAuthError::new(ErrorCode::InvalidRedirectUri, "each redirect URI must be a string"))?;
        uris.push(RedirectUri::parse(raw).map_err(|reason| OAuthError::new(ErrorCode::InvalidRedirectUri, reason))?);
    }
    let name = optional_text(meta, "client_name", MAX_CLIENT_NAME)?;
    if name.is_some_and(|n| !is_displayable_name(n)) {
        return Err(metadata_error(
            "client_name must not contain control, bidirectional or invisible formatting characters",
        ));
    }
    // Not asked: the code flow and its refresh tokens (RFC 7591 §3.2.1 lets
    // the server substitute what it registers; §2's default alone would
    // leave such a client no refresh token).
    let default = [Value::from("authorization_code"), Value::from("refresh_token")];
    let asked = match meta.get("grant_types") {
        None | Some(Value::Null) => &default[..],
        Some(v) => v.as_array().map(Vec::as_slice).unwrap_or_default(),
    };
    let registered: Vec<&str> = supported
        .iter()
        .copied()
        .filter(|g| *g == "authorization_code" && !device_only || asked.iter().any(|a| a.as_str() == Some(*g)))
        .collect();
    let client_id = Client::client_id_for(&uris, name, GrantTypes::of(registered.iter().copied()), keys);
    // A hostname id (the original's scheme) carries no grant types and may
    // use every one /token serves: the answer says so (RFC 7591 §3.2.1).
    let registered = if Client::is_signed_id(&client_id) { registered } else { supported.to_vec() };
    let grant_types: Vec<Value> = registered.iter().map(|g| Value::from(*g)).collect();
    let response_types: &[&str] = if device_only {
        match meta.get("response_types") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) if items.is_empty() => {}
            Some(_) => return Err(metadata_error("a client without authorization_code has no response_types")),
        }
        &[]
    } else {
        check_list(meta, "response_types", "code", "response_types must include code")?;
        &["code"]
    };
    let mut out = Object::from([
        ("client_id", client_id.into()),
        ("client_id_issued_at", now.into()),
        ("redirect_uris", raw_uris.to_vec().into()),
        ("token_endpoint_auth_method", "none".into()),
        ("grant_types", grant_types.into()),
        ("response_types", response_types.iter().map(|t| Value::from(*t)).collect::<Vec<_>>().into()),
    ]);
    out.insert_some("client_name", name);
    for field in ["client_uri", "logo_uri", "policy_uri", "tos_uri"] {
        if let Some(uri) = optional_text(meta, field, 2048)? {
            if !is_web_url(uri) {
                return Err(metadata_error("client_uri, logo_uri, policy_uri and tos_uri must be https URLs"));
            }
            out.insert(field, uri);
        }
    }
    for field in ["scope", "software_id", "software_version"] {
        if let Some(text) = optional_text(meta, field, 1024)? {
            out.insert(field, text);
        }
    }
    if let Some(kind) = optional_text(meta, "application_type", 16)? {
        if kind != "web" && kind != "native" {
            return Err(metadata_error("application_type must be web or native"));
        }
        out.insert("application_type", kind);
    }
    Ok(out.into())
}

/// Whether the registration is a device's: `grant_types` asks for the
/// device grant (which /token must answer) and not for
/// `authorization_code`. Any other `grant_types` without
/// `authorization_code` is refused.
fn is_device_only(meta: &Object, supported: &[&str]) -> Result<bool, OAuthError> {
    let Some(Value::Array(asked)) = meta.get("grant_types") else {
        return check_list(meta, "grant_types", "authorization_code", "grant_types must be an array").map(|()| false);
    };
    let asks = |grant: &str| asked.iter().any(|a| a.as_str() == Some(grant));
    if asks("authorization_code") {
        return Ok(false);
    }
    let device = crate::endpoints::token::DEVICE_CODE_GRANT;
    if !asks(device) {
        return Err(metadata_error(
            "grant_types must include authorization_code (or, for a device, the device_code grant)",
        ));
    }
    if !supported.contains(&device) {
        return Err(metadata_error("this server does not offer the device_code grant (no grant store is bound)"));
    }
    Ok(true)
}

/// A string field that may be absent or null, at most `max` characters of
/// printable text.
fn optional_text<'a>(meta: &'a Object, field: &str, max: usize) -> Result<Option<&'a str>, OAuthError> {
    match meta.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(Some(s.as_str()).filter(|s| !s.trim().is_empty()))
        }
        Some(_) => Err(metadata_error("a client metadata field has the wrong type, length or characters")),
    }
}

fn check_list(meta: &Object, field: &str, required: &str, description: &'static str) -> Result<(), OAuthError> {
    match meta.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) if items.iter().any(|i| i.as_str() == Some(required)) => Ok(()),
        Some(_) => Err(metadata_error(description)),
    }
}

fn is_web_url(s: &str) -> bool {
    crate::Url::parse(s).is_ok_and(|u| (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret::Secret;

    fn keys() -> Keys {
        Keys::derive(&Secret::new(&"s".repeat(40)).unwrap(), None)
    }

    const SUPPORTED: [&str; 3] = ["authorization_code", "refresh_token", crate::endpoints::token::DEVICE_CODE_GRANT];

    fn reg(body: &str) -> Result<Value, OAuthError> {
        register(Some("application/json"), body.as_bytes(), &keys(), &SUPPORTED, 1_700_000_000)
    }

    /// Regression: the registration answered `grant_types:
    /// ["authorization_code"]` to a client that asked for refresh tokens too,
    /// which /token then issued it (RFC 7591 §3.2.1: the answer is what was
    /// registered); authlib showed it.
    #[test]
    fn a_registration_asking_for_refresh_tokens_was_told_it_had_none() {
        let grants = |body: &str, supported: &[&'static str]| {
            let out = register(Some("application/json"), body.as_bytes(), &keys(), supported, 0).unwrap();
            out["grant_types"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect::<Vec<_>>()
        };
        let vs_code = r#"{"redirect_uris":["http://127.0.0.1:33418/"],"grant_types":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]}"#;
        assert_eq!(grants(vs_code, &SUPPORTED), SUPPORTED);
        // Only what /token answers: passthrough without a grant store.
        assert_eq!(grants(vs_code, &["authorization_code"]), ["authorization_code"]);
        // Asked in another order, or with a grant nobody supports: the supported ones.
        let odd = r#"{"redirect_uris":["https://a.example/cb"],"client_name":"A","grant_types":["implicit","refresh_token","authorization_code"]}"#;
        assert_eq!(grants(odd, &SUPPORTED), ["authorization_code", "refresh_token"]);
        // Entries that are not strings, or repeated, add nothing.
        let junk = r#"{"redirect_uris":["https://a.example/cb"],"client_name":"A","grant_types":["authorization_code",5,null,{"a":1},"refresh_token","refresh_token"]}"#;
        assert_eq!(grants(junk, &SUPPORTED), ["authorization_code", "refresh_token"]);
        // Not asked: the code flow with its refresh tokens.
        assert_eq!(
            grants(r#"{"redirect_uris":["https://a.example/cb"],"client_name":"A"}"#, &SUPPORTED),
            ["authorization_code", "refresh_token"]
        );
        assert_eq!(
            grants(r#"{"redirect_uris":["https://a.example/cb"],"client_name":"A"}"#, &["authorization_code"]),
            ["authorization_code"]
        );
        // A hostname id (one web host, no name: the original's scheme) is held
        // to no grant types: the answer lists every one /token serves.
        let hostname = r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["authorization_code"]}"#;
        assert_eq!(grants(hostname, &SUPPORTED), SUPPORTED);
    }

    /// Regression: a device (a CLI) registering for the device grant alone,
    /// with no redirect URI (RFC 7591 §2: those are for redirect-based
    /// flows), was refused twice: redirect_uris missing, then grant_types
    /// without authorization_code.
    #[test]
    fn a_device_registering_for_the_device_grant_alone_was_refused() {
        let device = crate::endpoints::token::DEVICE_CODE_GRANT;
        let body = format!(r#"{{"client_name":"my-cli","grant_types":["{device}","refresh_token"]}}"#);
        let out = reg(&body).unwrap();
        let strings =
            |v: &Value| v.as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(strings(&out["grant_types"]), ["refresh_token", device]);
        assert!(strings(&out["response_types"]).is_empty());
        assert!(strings(&out["redirect_uris"]).is_empty());
        // A client of ours with no redirect URI: /authorize has nowhere to send a code.
        let client = Client::resolve(out["client_id"].as_str().unwrap(), &keys()).unwrap();
        assert_eq!(client.name(), Some("my-cli"));
        assert!(client.default_redirect().is_none());
        assert!(client.allows(&RedirectUri::parse("http://127.0.0.1:9/cb").unwrap()).is_err());
        // An empty list, null response_types: the same.
        let also = format!(r#"{{"redirect_uris":[],"response_types":null,"grant_types":["{device}"]}}"#);
        assert_eq!(strings(&reg(&also).unwrap()["grant_types"]), [device]);
        // Refused: a redirect-less client without the device grant, or where
        // /token does not serve it, or one asking for codes.
        for (body, supported, why) in [
            (r#"{"grant_types":["refresh_token"]}"#.to_string(), &SUPPORTED[..], "device_code grant"),
            (format!(r#"{{"grant_types":["{device}"]}}"#), &["authorization_code"][..], "does not offer"),
            (format!(r#"{{"grant_types":["{device}"],"response_types":["code"]}}"#), &SUPPORTED[..], "response_types"),
        ] {
            let err = register(Some("application/json"), body.as_bytes(), &keys(), supported, 0).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidClientMetadata, "{body}");
            assert!(err.to_response().text().contains(why), "{body}: {}", err.to_response().text());
        }
        // With authorization_code too, redirect URIs are required as before.
        let both = format!(r#"{{"grant_types":["authorization_code","{device}"]}}"#);
        assert_eq!(reg(&both).unwrap_err().code, ErrorCode::InvalidRedirectUri);
    }

    #[test]
    fn original_recipe_gets_the_hostname() {
        let out = reg(r#"{"redirect_uris":["https://yourapp.com/callback"]}"#).unwrap();
        assert_eq!(out["client_id"], "yourapp.com");
        assert_eq!(out["client_id_issued_at"], 1_700_000_000);
        assert_eq!(out["token_endpoint_auth_method"], "none");
        assert!(!out.to_string().contains("null"));
    }

    #[test]
    fn client_secret_post_request_is_answered_with_none() {
        let out = reg(r#"{"redirect_uris":["https://claude.ai/api/mcp/auth_callback"],"client_name":"Claude","token_endpoint_auth_method":"client_secret_post","grant_types":["authorization_code","refresh_token"],"application_type":"web","unknown_field":{"x":1}}"#).unwrap();
        assert_eq!(out["token_endpoint_auth_method"], "none");
        assert_eq!(out["client_name"], "Claude");
        assert!(out["client_id"].as_str().unwrap().starts_with("pc1."));
        assert!(out.get("client_secret").is_none());
    }

    #[test]
    fn bad_registrations_are_400_with_the_right_code() {
        for (body, code) in [
            ("not json", ErrorCode::InvalidClientMetadata),
            ("[]", ErrorCode::InvalidClientMetadata),
            ("{}", ErrorCode::InvalidRedirectUri),
            (r#"{"redirect_uris":[]}"#, ErrorCode::InvalidRedirectUri),
            (r#"{"redirect_uris":"https://a.example/cb"}"#, ErrorCode::InvalidRedirectUri),
            (r#"{"redirect_uris":["javascript:alert(1)"]}"#, ErrorCode::InvalidRedirectUri),
            (r#"{"redirect_uris":["http://evil.example/cb"]}"#, ErrorCode::InvalidRedirectUri),
            (r#"{"redirect_uris":[1]}"#, ErrorCode::InvalidRedirectUri),
            (r#"{"redirect_uris":["https://a.example/cb"],"client_name":7}"#, ErrorCode::InvalidClientMetadata),
            (
                r#"{"redirect_uris":["https://a.example/cb"],"client_name":"evil\u202Eedoc"}"#,
                ErrorCode::InvalidClientMetadata,
            ),
            (
                r#"{"redirect_uris":["https://a.example/cb"],"grant_types":["client_credentials"]}"#,
                ErrorCode::InvalidClientMetadata,
            ),
            (
                r#"{"redirect_uris":["https://a.example/cb"],"logo_uri":"javascript:alert(1)"}"#,
                ErrorCode::InvalidClientMetadata,
            ),
        ] {
            let err = reg(body).unwrap_err();
            assert_eq!(err.code, code, "{body}");
            assert_eq!(err.to_response().status, 400);
        }
        assert!(register(Some("application/x-www-form-urlencoded"), b"{}", &keys(), &SUPPORTED, 0).is_err());
    }

    #[test]
    fn null_optional_fields_are_accepted_and_not_echoed() {
        let out = reg(r#"{"redirect_uris":["https://a.example/cb"],"client_name":null,"scope":null}"#).unwrap();
        assert!(!out.to_string().contains("null"));
    }
}
