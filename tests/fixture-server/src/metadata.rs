//! `GET /.well-known/oauth-authorization-server` (RFC 8414), for clients that
//! discover the endpoints instead of configuring them.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::device::DEVICE_CODE_GRANT_TYPE;
use crate::state::FixtureState;

/// The authorization-server metadata document.
pub(crate) async fn metadata(State(state): State<FixtureState>) -> Json<Value> {
    let base = state.base_url();
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "introspection_endpoint": format!("{base}/introspect"),
        "device_authorization_endpoint": format!("{base}/device_authorization"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT_TYPE],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["none"],
    }))
}
