//! RFC 6749 §5.2 error responses (`{"error": ..., "error_description": ...}`) and the
//! shared JSON response helpers of the OAuth endpoints.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// `WWW-Authenticate` value sent with every `invalid_client` answer.
const BASIC_CHALLENGE: &str = "Basic realm=\"tokenkeep-fixture\"";

/// An OAuth error answer: status, error code and human-readable description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401 `invalid_client` (sent with `WWW-Authenticate: Basic`).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    /// 400 `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 400 `invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", description)
    }

    /// 400 `authorization_pending` (RFC 8628 §3.5): the user has not decided yet.
    pub fn authorization_pending(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "authorization_pending", description)
    }

    /// 400 `access_denied` (RFC 8628 §3.5): the user denied the request.
    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "access_denied", description)
    }

    /// 400 `expired_token` (RFC 8628 §3.5): the device code has expired.
    pub fn expired_token(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "expired_token", description)
    }

    /// 400 `unsupported_response_type`.
    pub fn unsupported_response_type(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_response_type", description)
    }

    /// The error code, e.g. `invalid_grant`.
    #[cfg(test)]
    pub fn error(&self) -> &'static str {
        self.error
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = no_store_json(self.status, &body);
        if self.error == "invalid_client" {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
        }
        response
    }
}

/// A JSON response with `Cache-Control: no-store` and `Pragma: no-cache`, as the
/// token endpoint must send (RFC 6749 §5.1).
pub fn no_store_json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
