//! The protected resource under `/api`: `GET /api/me` (needs a live access token)
//! and `GET /api/redirect?to=URL` (a 302, to test that clients drop `Authorization`
//! on cross-origin redirects), and `GET /api/large?bytes=N[&chunked=true]` (a
//! generated body of N bytes, to test clients' size caps). Counting happens
//! in [`crate::stats`] middleware.

use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::large_body::{pad, Framing};
use crate::state::FixtureState;

/// `GET /api/me`.
pub(crate) async fn me(State(state): State<FixtureState>, headers: HeaderMap) -> Response {
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        // RFC 6750 §3.1: no error code when the request carried no credentials.
        return unauthorized(
            "Bearer realm=\"tokenkeep-fixture\"",
            "invalid_request",
            "missing bearer token",
        );
    };
    let token = authorization
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let registry = state.registry();
    match token.and_then(|t| registry.access.get(t)) {
        Some(info) if info.is_usable(SystemTime::now()) => Json(json!({
            "sub": info.sub,
            "client_id": info.client_id,
            "scope": info.scope,
        }))
        .into_response(),
        _ => unauthorized(
            "Bearer realm=\"tokenkeep-fixture\", error=\"invalid_token\"",
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ),
    }
}

fn unauthorized(challenge: &'static str, error: &str, description: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge))],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Query of `GET /api/redirect`.
#[derive(Debug, Deserialize)]
pub(crate) struct RedirectQuery {
    to: Option<String>,
}

/// `GET /api/redirect?to=URL`: `302 Found` with `Location: URL`.
pub(crate) async fn redirect(Query(query): Query<RedirectQuery>) -> Response {
    let target = query
        .to
        .filter(|t| !t.is_empty())
        .and_then(|t| HeaderValue::from_str(&t).ok());
    match target {
        Some(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_request", "error_description": "missing or invalid parameter: to" })),
        )
            .into_response(),
    }
}

/// Query of `GET /api/large`.
#[derive(Debug, Deserialize)]
pub(crate) struct LargeQuery {
    bytes: u64,
    #[serde(default)]
    chunked: bool,
}

/// `GET /api/large?bytes=N[&chunked=true]`: `200` with N bytes (spaces),
/// generated while sent, with `Content-Length` or chunked. Needs no token.
pub(crate) async fn large(Query(query): Query<LargeQuery>) -> Response {
    let framing = if query.chunked {
        Framing::Chunked
    } else {
        Framing::ContentLength
    };
    let response = ([(header::CONTENT_TYPE, "application/octet-stream")], "").into_response();
    pad(response, query.bytes, framing).await
}
