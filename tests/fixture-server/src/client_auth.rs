//! Client authentication at `/token` and `/revoke`: `client_secret_basic` (RFC 6749
//! §2.3.1, form-urlencoded id and secret inside the Basic credentials),
//! `client_secret_post`, and `none` (a public client sending only `client_id`).

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::config::ClientSpec;
use crate::form::FormParams;
use crate::oauth_error::OAuthError;
use crate::state::FixtureState;

/// How a client presented itself at an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` header (`client_secret_basic`).
    Basic,
    /// `client_secret` in the form body (`client_secret_post`).
    Post,
    /// No secret: only `client_id` in the form, or nothing at all.
    None,
}

/// The credentials a request carried, before checking them.
#[derive(Debug, Clone)]
pub(crate) struct PresentedClient {
    pub client_id: Option<String>,
    pub method: ClientAuthMethod,
    basic: Option<Result<(String, String), &'static str>>,
    form_id: Option<String>,
    form_secret: Option<String>,
}

/// Reads the client credentials of a request without judging them.
pub(crate) fn presented_client(headers: &HeaderMap, form: &FormParams) -> PresentedClient {
    let basic = headers
        .get(header::AUTHORIZATION)
        .map(|v| parse_basic(v.to_str().unwrap_or("")));
    let form_id = form.get("client_id").map(str::to_owned);
    let form_secret = form.get("client_secret").map(str::to_owned);
    let (client_id, method) = match &basic {
        Some(Ok((id, _))) => (Some(id.clone()), ClientAuthMethod::Basic),
        Some(Err(_)) => (form_id.clone(), ClientAuthMethod::Basic),
        None if form_secret.is_some() => (form_id.clone(), ClientAuthMethod::Post),
        None => (form_id.clone(), ClientAuthMethod::None),
    };
    PresentedClient {
        client_id,
        method,
        basic,
        form_id,
        form_secret,
    }
}

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn parse_basic(value: &str) -> Result<(String, String), &'static str> {
    let (scheme, credentials) = value.trim().split_once(' ').ok_or("malformed Authorization header")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err("unsupported Authorization scheme at this endpoint");
    }
    let credentials = credentials.trim();
    let decoded = STANDARD
        .decode(credentials)
        .or_else(|_| STANDARD_NO_PAD.decode(credentials))
        .map_err(|_| "Basic credentials are not valid base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "Basic credentials are not UTF-8")?;
    let (id, secret) = decoded.split_once(':').ok_or("Basic credentials lack a ':'")?;
    Ok((form_decode(id)?, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one component ('+' is a space).
fn form_decode(s: &str) -> Result<String, &'static str> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "Basic credentials are not UTF-8 after decoding")
}

impl PresentedClient {
    /// Checks the credentials against the registered clients. A client with a secret
    /// must prove it (Basic or post); a public client needs only its `client_id`.
    pub fn authenticate(&self, state: &FixtureState) -> Result<ClientSpec, OAuthError> {
        let (client_id, secret) = match &self.basic {
            Some(Err(reason)) => return Err(OAuthError::invalid_client(*reason)),
            Some(Ok((id, secret))) => {
                if self.form_secret.is_some() {
                    return Err(OAuthError::invalid_request(
                        "more than one client authentication method used",
                    ));
                }
                if self.form_id.as_deref().is_some_and(|f| f != id) {
                    return Err(OAuthError::invalid_request(
                        "client_id in the form differs from the Basic credentials",
                    ));
                }
                (id.as_str(), Some(secret.as_str()).filter(|s| !s.is_empty()))
            }
            None => match &self.form_id {
                Some(id) => (id.as_str(), self.form_secret.as_deref()),
                None => {
                    return Err(OAuthError::invalid_client(
                        "client authentication missing: send client_id (and the secret if the client has one)",
                    ))
                }
            },
        };
        let client = state
            .client(client_id)
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        match (&client.client_secret, secret) {
            (Some(expected), Some(given)) if expected == given => Ok(client),
            (Some(_), Some(_)) => Err(OAuthError::invalid_client("client authentication failed")),
            (Some(_), None) => Err(OAuthError::invalid_client(
                "client authentication required for this client",
            )),
            (None, None) => Ok(client),
            (None, Some(_)) => Err(OAuthError::invalid_client("this public client has no secret")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        headers.insert(header::AUTHORIZATION, value.parse().expect("valid header"));
        headers
    }

    fn auth(headers: &HeaderMap, form: &str) -> Result<String, &'static str> {
        let state = FixtureState::new(&ServerConfig::default());
        presented_client(headers, &FormParams::parse(form.as_bytes()))
            .authenticate(&state)
            .map(|c| c.client_id)
            .map_err(|e| e.error())
    }

    #[test]
    fn basic_post_and_none() {
        let none = HeaderMap::new();
        assert_eq!(
            auth(&basic("confidential-app", "confidential-secret"), ""),
            Ok("confidential-app".into())
        );
        assert_eq!(
            auth(&none, "client_id=m2m-client&client_secret=m2m-secret"),
            Ok("m2m-client".into())
        );
        assert_eq!(auth(&none, "client_id=public-app"), Ok("public-app".into()));
        assert_eq!(auth(&basic("public-app", ""), ""), Ok("public-app".into()));
    }

    #[test]
    fn basic_parts_are_form_decoded() {
        let state = FixtureState::new(&ServerConfig::default());
        state.upsert_client(ClientSpec::confidential("a b:c", "s+&/é"));
        let headers = basic("a+b%3Ac", "s%2B%26%2F%C3%A9");
        let presented = presented_client(&headers, &FormParams::default());
        assert_eq!(presented.method, ClientAuthMethod::Basic);
        assert!(presented.authenticate(&state).is_ok());
    }

    #[test]
    fn failures() {
        let none = HeaderMap::new();
        assert_eq!(auth(&basic("confidential-app", "wrong"), ""), Err("invalid_client"));
        assert_eq!(auth(&none, "client_id=confidential-app"), Err("invalid_client"));
        assert_eq!(auth(&none, "client_id=nobody"), Err("invalid_client"));
        assert_eq!(auth(&none, ""), Err("invalid_client"));
        assert_eq!(
            auth(&none, "client_id=public-app&client_secret=x"),
            Err("invalid_client")
        );
        assert_eq!(
            auth(
                &basic("confidential-app", "confidential-secret"),
                "client_secret=confidential-secret"
            ),
            Err("invalid_request")
        );
    }
}
