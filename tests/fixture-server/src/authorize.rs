//! `GET /authorize`: the documented test sign-in. It validates the request, approves
//! it at once as user `test-user` (or `login_hint`) without any page, and redirects
//! to `redirect_uri` with a single-use code (60 s) and the echoed `state`. PKCE with
//! `S256` is required.

use std::time::{Duration, SystemTime};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use url::Url;

use crate::form::FormParams;
use crate::oauth_error::OAuthError;
use crate::scope;
use crate::state::{random_token, AuthCode, FixtureState};

/// Lifetime of an authorization code.
const CODE_TTL: Duration = Duration::from_secs(60);

/// Characters percent-encoded in the redirect's query values: all but RFC 3986
/// unreserved ones.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The user every authorization request signs in as, unless `login_hint` names another.
pub const DEFAULT_SUBJECT: &str = "test-user";

/// `BASE64URL-NOPAD(SHA256(verifier))`, the S256 code challenge of `verifier`.
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 grammar for verifiers and challenges: 43–128 unreserved characters.
pub(crate) fn valid_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `GET /authorize`.
pub(crate) async fn authorize(State(state): State<FixtureState>, RawQuery(query): RawQuery) -> Response {
    let params = FormParams::parse(query.unwrap_or_default().as_bytes());
    match approve(&state, &params) {
        Ok(location) => redirect(&location),
        Err(error) => error.into_response(),
    }
}

/// Validates the request, stores a code and returns the redirect target.
fn approve(state: &FixtureState, params: &FormParams) -> Result<String, OAuthError> {
    params.reject_repeated()?;
    let client_id = params.require("client_id")?;
    if state.client(client_id).is_none() {
        return Err(OAuthError::invalid_request("unknown client_id"));
    }
    let redirect_uri = params.require("redirect_uri")?;
    let mut location =
        Url::parse(redirect_uri).map_err(|_| OAuthError::invalid_request("redirect_uri is not an absolute URI"))?;
    if location.fragment().is_some() {
        return Err(OAuthError::invalid_request("redirect_uri must not contain a fragment"));
    }
    match params.require("response_type")? {
        "code" => {}
        other => {
            return Err(OAuthError::unsupported_response_type(format!(
                "unsupported response_type {other:?}; only \"code\""
            )))
        }
    }
    let challenge = params.require("code_challenge")?;
    if params.get("code_challenge_method") != Some("S256") {
        return Err(OAuthError::invalid_request("code_challenge_method must be S256"));
    }
    if !valid_pkce_value(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43-128 characters of [A-Za-z0-9-._~]",
        ));
    }
    let scope = scope::normalize(params.get("scope").unwrap_or(""))?;
    let sub = params.get("login_hint").unwrap_or(DEFAULT_SUBJECT);

    let code = random_token("ac_");
    state.registry().codes.insert(
        code.clone(),
        AuthCode {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            scope,
            sub: sub.to_owned(),
            expires_at: SystemTime::now() + CODE_TTL,
            redeemed: None,
        },
    );
    // Percent-encode everything but unreserved characters (a space becomes %20,
    // never '+'), so every platform's URL parser reads `state` back unchanged.
    let mut query = location.query().unwrap_or_default().to_owned();
    let state_pair = params.get("state").map(|st| ("state", st));
    for (name, value) in [("code", code.as_str())].into_iter().chain(state_pair) {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.extend(utf8_percent_encode(value, QUERY_VALUE));
    }
    location.set_query(Some(&query));
    Ok(location.into())
}

/// `302 Found` to `location`, not cached.
fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => OAuthError::invalid_request("redirect_uri cannot be sent in a header").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn pkce_grammar() {
        assert!(valid_pkce_value(&"a".repeat(43)));
        assert!(!valid_pkce_value(&"a".repeat(42)));
        assert!(!valid_pkce_value(&"a".repeat(129)));
        assert!(!valid_pkce_value(&format!("{}+", "a".repeat(43))));
    }
}
