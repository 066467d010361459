//! The `/admin` JSON API tests use to steer the server: register clients, queue
//! faults, expire or revoke tokens, reset counters, read the token-request log.
//! Each handler is a thin wrapper around a [`FixtureState`] method.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::config::{ClientSpec, ResponseStyle};
use crate::faults::FaultSpec;
use crate::state::FixtureState;

/// The `/admin/*` routes.
pub(crate) fn routes() -> Router<FixtureState> {
    Router::new()
        .route("/admin/clients", post(upsert_client))
        .route("/admin/faults", post(queue_fault).get(list_faults).delete(clear_faults))
        .route("/admin/expire-access-tokens", post(expire_access_tokens))
        .route("/admin/revoke-all", post(revoke_all))
        .route("/admin/reset-stats", post(reset_stats))
        .route(
            "/admin/token-requests",
            get(token_requests).delete(clear_token_requests),
        )
        .route("/admin/reset", post(reset))
}

/// Body of `POST /admin/clients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientBody {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    access_ttl: Option<u64>,
    #[serde(default)]
    refresh_ttl: Option<u64>,
    #[serde(default)]
    rotation: Option<bool>,
    #[serde(default)]
    refresh_reuse_grace_secs: Option<u64>,
    #[serde(default)]
    refresh_revocation_keeps_access: Option<bool>,
    #[serde(default)]
    response_style: Option<ResponseStyle>,
}

fn bad_request(description: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": "invalid_request", "error_description": description.into() })),
    )
        .into_response()
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn upsert_client(State(state): State<FixtureState>, body: Bytes) -> Response {
    let body: ClientBody = match parse(&body) {
        Ok(body) => body,
        Err(reason) => return bad_request(reason),
    };
    if body.client_id.is_empty() {
        return bad_request("client_id must not be empty");
    }
    let client_id = body.client_id.clone();
    state.upsert_client(ClientSpec {
        client_id: body.client_id,
        client_secret: body.client_secret.filter(|s| !s.is_empty()),
        access_ttl_secs: body.access_ttl,
        refresh_ttl_secs: body.refresh_ttl,
        rotation: body.rotation,
        refresh_reuse_grace_secs: body.refresh_reuse_grace_secs,
        refresh_revocation_keeps_access: body.refresh_revocation_keeps_access,
        response_style: body.response_style.unwrap_or_default(),
    });
    Json(json!({ "client_id": client_id })).into_response()
}

async fn queue_fault(State(state): State<FixtureState>, body: Bytes) -> Response {
    let fault: FaultSpec = match parse(&body) {
        Ok(fault) => fault,
        Err(reason) => return bad_request(reason),
    };
    let count = fault.count;
    match state.queue_fault(fault) {
        Ok(()) => Json(json!({ "queued": count })).into_response(),
        Err(reason) => bad_request(reason),
    }
}

async fn list_faults(State(state): State<FixtureState>) -> Response {
    Json(state.pending_faults()).into_response()
}

async fn clear_faults(State(state): State<FixtureState>) -> Response {
    state.clear_faults();
    Json(json!({ "cleared": true })).into_response()
}

async fn expire_access_tokens(State(state): State<FixtureState>) -> Response {
    Json(json!({ "expired": state.expire_access_tokens() })).into_response()
}

async fn revoke_all(State(state): State<FixtureState>) -> Response {
    Json(json!({ "revoked": state.revoke_all() })).into_response()
}

async fn reset_stats(State(state): State<FixtureState>) -> Response {
    state.reset_stats();
    Json(json!({ "reset": true })).into_response()
}

async fn token_requests(State(state): State<FixtureState>) -> Response {
    Json(state.token_requests()).into_response()
}

async fn clear_token_requests(State(state): State<FixtureState>) -> Response {
    state.clear_token_requests();
    Json(json!({ "cleared": true })).into_response()
}

async fn reset(State(state): State<FixtureState>) -> Response {
    state.reset();
    Json(json!({ "reset": true })).into_response()
}
