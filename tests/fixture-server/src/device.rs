//! The device authorization grant (RFC 8628). `POST /device_authorization` issues a
//! device code and a user code; `POST /device/approve` is the documented test
//! approval (no browser), and `GET /device` is a tiny text page. The token endpoint
//! redeems the device code with `grant_type=urn:ietf:params:oauth:grant-type:device_code`.
//!
//! The server never answers `slow_down` by itself, whatever the polling rate: tests
//! inject it with a queued fault.

use std::fmt;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use serde_json::{json, Value};

use crate::authorize::DEFAULT_SUBJECT;
use crate::client_auth::presented_client;
use crate::form::{require_form_content_type, FormParams};
use crate::oauth_error::{no_store_json, OAuthError};
use crate::scope;
use crate::state::{expiry_after, random_token, DeviceCode, DeviceStatus, FixtureState};

/// The `grant_type` that redeems a device code at `/token`.
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The characters of user codes: consonants only, so no vowels (no words) and no
/// look-alikes such as `0`/`O` or `1`/`I` (RFC 8628 §6.1).
pub const USER_CODE_ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// Characters in a user code, without the dash.
const USER_CODE_LEN: usize = 8;

/// Why a user code could not be approved or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecisionError {
    /// No device authorization request has this user code.
    UnknownUserCode,
    /// The request's codes have expired.
    Expired,
    /// The request was already approved or denied.
    AlreadyDecided,
}

impl fmt::Display for DeviceDecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownUserCode => "unknown user_code",
            Self::Expired => "user_code expired",
            Self::AlreadyDecided => "user_code already approved or denied",
        })
    }
}

impl std::error::Error for DeviceDecisionError {}

impl From<DeviceDecisionError> for OAuthError {
    fn from(error: DeviceDecisionError) -> Self {
        match error {
            DeviceDecisionError::Expired => OAuthError::expired_token(error.to_string()),
            DeviceDecisionError::UnknownUserCode | DeviceDecisionError::AlreadyDecided => {
                OAuthError::invalid_request(error.to_string())
            }
        }
    }
}

/// A fresh user code, `XXXX-XXXX` from [`USER_CODE_ALPHABET`] (about 34.6 bits).
fn generate_user_code() -> String {
    let alphabet = USER_CODE_ALPHABET.as_bytes();
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(USER_CODE_LEN + 1);
    for i in 0..USER_CODE_LEN {
        if i == USER_CODE_LEN / 2 {
            code.push('-');
        }
        code.push(char::from(alphabet[rng.gen_range(0..alphabet.len())]));
    }
    code
}

/// The canonical `XXXX-XXXX` form of what a user typed: case, dashes and spaces
/// are ignored. `None` if it cannot be a user code.
pub(crate) fn canonical_user_code(typed: &str) -> Option<String> {
    let chars: Vec<char> = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if chars.len() != USER_CODE_LEN || !chars.iter().all(|c| USER_CODE_ALPHABET.contains(*c)) {
        return None;
    }
    let (left, right) = chars.split_at(USER_CODE_LEN / 2);
    Some(format!(
        "{}-{}",
        left.iter().collect::<String>(),
        right.iter().collect::<String>()
    ))
}

/// Approves or denies (`decision`) the pending request with `user_code`.
pub(crate) fn decide(state: &FixtureState, user_code: &str, decision: DeviceStatus) -> Result<(), DeviceDecisionError> {
    let canonical = canonical_user_code(user_code).ok_or(DeviceDecisionError::UnknownUserCode)?;
    let mut registry = state.registry();
    let registry = &mut *registry;
    let entry = registry
        .user_codes
        .get(&canonical)
        .and_then(|device_code| registry.device_codes.get_mut(device_code))
        .ok_or(DeviceDecisionError::UnknownUserCode)?;
    if SystemTime::now() >= entry.expires_at {
        return Err(DeviceDecisionError::Expired);
    }
    if entry.status != DeviceStatus::Pending {
        return Err(DeviceDecisionError::AlreadyDecided);
    }
    entry.status = decision;
    Ok(())
}

/// `POST /device_authorization` (RFC 8628 §3.1–3.2).
pub(crate) async fn device_authorization(
    State(state): State<FixtureState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormParams::parse(&body);
    match issue(&state, &headers, &form) {
        Ok(body) => no_store_json(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

fn issue(state: &FixtureState, headers: &HeaderMap, form: &FormParams) -> Result<Value, OAuthError> {
    require_form_content_type(headers)?;
    form.reject_repeated()?;
    let client = presented_client(headers, form).authenticate(state)?;
    let scope = scope::normalize(form.get("scope").unwrap_or(""))?;
    let ttl_secs = state.device_code_ttl_secs();
    let device_code = random_token("dc_");
    let user_code = {
        let mut registry = state.registry();
        let user_code = loop {
            let candidate = generate_user_code();
            if !registry.user_codes.contains_key(&candidate) {
                break candidate;
            }
        };
        registry.device_codes.insert(
            device_code.clone(),
            DeviceCode {
                client_id: client.client_id,
                scope,
                expires_at: expiry_after(SystemTime::now(), ttl_secs),
                status: DeviceStatus::Pending,
            },
        );
        registry.user_codes.insert(user_code.clone(), device_code.clone());
        user_code
    };
    let verification_uri = format!("{}/device", state.base_url());
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
        "verification_uri": verification_uri,
        "expires_in": ttl_secs,
        "interval": state.device_interval_secs(),
    }))
}

/// `POST /device/approve`: the documented test approval. Form fields `user_code`
/// (required), `deny=true` to deny, and `login_hint` (the subject, default
/// `test-user`).
pub(crate) async fn approve(State(state): State<FixtureState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = FormParams::parse(&body);
    match approve_form(&state, &headers, &form) {
        Ok(body) => no_store_json(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

fn approve_form(state: &FixtureState, headers: &HeaderMap, form: &FormParams) -> Result<Value, OAuthError> {
    require_form_content_type(headers)?;
    form.reject_repeated()?;
    let user_code = form.require("user_code")?;
    let deny = match form.get("deny") {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "deny must be true or false, not {other:?}"
            )))
        }
    };
    if deny {
        decide(state, user_code, DeviceStatus::Denied)?;
        Ok(json!({ "denied": true }))
    } else {
        let sub = form.get("login_hint").unwrap_or(DEFAULT_SUBJECT).to_owned();
        decide(state, user_code, DeviceStatus::Approved { sub })?;
        Ok(json!({ "approved": true }))
    }
}

/// `GET /device`: a tiny text page saying how to approve, and the status of
/// `?user_code=` if given.
pub(crate) async fn verification_page(State(state): State<FixtureState>, RawQuery(query): RawQuery) -> Response {
    let params = FormParams::parse(query.unwrap_or_default().as_bytes());
    let mut text = String::from(
        "tokenkeep fixture server: device verification\n\
         There is no sign-in page. Approve with\n  \
         POST /device/approve  user_code=XXXX-XXXX [login_hint=USER] [deny=true]\n",
    );
    if let Some(typed) = params.get("user_code") {
        let status = canonical_user_code(typed).map_or("unknown", |code| {
            let registry = state.registry();
            match registry
                .user_codes
                .get(&code)
                .and_then(|device_code| registry.device_codes.get(device_code))
            {
                None => "unknown",
                Some(entry) => match (&entry.status, SystemTime::now() >= entry.expires_at) {
                    (DeviceStatus::Redeemed, _) => "used",
                    (_, true) => "expired",
                    (DeviceStatus::Pending, false) => "pending",
                    (DeviceStatus::Approved { .. }, false) => "approved",
                    (DeviceStatus::Denied, false) => "denied",
                },
            }
        });
        text.push_str(&format!("user_code {typed}: {status}\n"));
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_have_the_documented_shape() {
        for _ in 0..100 {
            let code = generate_user_code();
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(&code[4..5], "-");
            assert!(code
                .chars()
                .filter(|c| *c != '-')
                .all(|c| USER_CODE_ALPHABET.contains(c)));
            assert_eq!(canonical_user_code(&code).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn typed_user_codes_are_canonicalised() {
        assert_eq!(canonical_user_code("bcdf ghjk").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(canonical_user_code("BCDFGHJK").as_deref(), Some("BCDF-GHJK"));
        assert_eq!(canonical_user_code("BCDF-GHJ"), None);
        assert_eq!(canonical_user_code("ABCD-EFGH"), None);
        assert_eq!(canonical_user_code(""), None);
    }
}
