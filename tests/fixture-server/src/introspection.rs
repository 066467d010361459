//! `POST /introspect` (RFC 7662), without client authentication. A token is active
//! when it exists, is unexpired and unrevoked, and (for a refresh token) has not
//! been consumed by rotation.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::form::{require_form_content_type, FormParams};
use crate::oauth_error::{no_store_json, OAuthError};
use crate::state::{unix_secs, FixtureState, TokenInfo};

/// `POST /introspect`.
pub(crate) async fn introspect(State(state): State<FixtureState>, headers: HeaderMap, body: Bytes) -> Response {
    state.recorder().record_introspection();
    let form = FormParams::parse(&body);
    match handle(&state, &headers, &form) {
        Ok(body) => no_store_json(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

fn handle(state: &FixtureState, headers: &HeaderMap, form: &FormParams) -> Result<Value, OAuthError> {
    require_form_content_type(headers)?;
    form.reject_repeated()?;
    let token = form.require("token")?;
    let now = SystemTime::now();
    let registry = state.registry();
    let found = match registry.access.get(token) {
        Some(info) => Some((info, "access_token", info.is_usable(now))),
        None => registry
            .refresh
            .get(token)
            .map(|rt| (&rt.info, "refresh_token", rt.info.is_usable(now) && !rt.used)),
    };
    Ok(match found {
        Some((info, token_type, true)) => active(info, token_type),
        _ => json!({ "active": false }),
    })
}

fn active(info: &TokenInfo, token_type: &str) -> Value {
    json!({
        "active": true,
        "client_id": info.client_id,
        "scope": info.scope,
        "exp": unix_secs(info.expires_at),
        "iat": unix_secs(info.issued_at),
        "token_type": token_type,
        "sub": info.sub,
    })
}
