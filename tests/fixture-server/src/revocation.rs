//! `POST /revoke` (RFC 7009). Revoking a refresh token revokes its whole family,
//! access tokens included (or, for a client with
//! `refresh_revocation_keeps_access`, only the refresh tokens: RFC 7009 §2.1
//! lets a server keep the access tokens alive); revoking an access token
//! revokes only that token. Unknown
//! tokens, and tokens issued to another client, are answered 200 and left alone.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::client_auth::presented_client;
use crate::form::{require_form_content_type, FormParams};
use crate::oauth_error::OAuthError;
use crate::state::FixtureState;

/// `POST /revoke`.
pub(crate) async fn revoke(State(state): State<FixtureState>, headers: HeaderMap, body: Bytes) -> Response {
    state.recorder().record_revocation();
    let form = FormParams::parse(&body);
    match handle(&state, &headers, &form) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

fn handle(state: &FixtureState, headers: &HeaderMap, form: &FormParams) -> Result<(), OAuthError> {
    require_form_content_type(headers)?;
    form.reject_repeated()?;
    let token = form.require("token")?;
    let client = presented_client(headers, form).authenticate(state)?;
    let mut registry = state.registry();
    // Access and refresh tokens never share a value, so `token_type_hint` (RFC 7009
    // §2.1, a lookup optimisation) can be ignored: both kinds are looked up.
    let refresh_family = registry
        .refresh
        .get(token)
        .filter(|rt| rt.info.client_id == client.client_id)
        .and_then(|rt| rt.info.family);
    if let Some(family) = refresh_family {
        if state.effective(&client).refresh_revocation_keeps_access {
            registry.revoke_family_refresh_tokens(family);
        } else {
            registry.revoke_family(family);
        }
    } else if let Some(info) = registry
        .access
        .get_mut(token)
        .filter(|info| info.client_id == client.client_id)
    {
        info.revoked = true;
    }
    Ok(())
}
