//! End-to-end tests of fault injection, the admin API, the /api routes and the
//! statistics.

mod common;

use std::time::{Duration, Instant};

use common::start;
use reqwest::StatusCode;
use serde_json::json;
use tokenkeep_fixture_server::{FaultSpec, MALFORMED_BODY};

const CC: [(&str, &str); 2] = [("grant_type", "client_credentials"), ("client_id", "public-app")];

#[tokio::test]
async fn status_fault_with_retry_after_then_recovery() {
    let f = start();
    let reply = f
        .admin("/admin/faults", json!({"status": 503, "retry_after": 7, "count": 2}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    for _ in 0..2 {
        let reply = f.token(&CC).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.header("retry-after"), Some("7"));
        assert_eq!(reply.str("error"), "temporarily_unavailable");
    }
    assert_eq!(f.token(&CC).await.status, StatusCode::OK);
    let stats = f.stats().await;
    assert_eq!(stats["token_requests"]["total"], 3);
    assert_eq!(stats["token_requests"]["client_credentials"], 3);
}

#[tokio::test]
async fn status_fault_with_custom_body_and_clearing() {
    let f = start();
    f.admin(
        "/admin/faults",
        json!({"status": 429, "body": "", "content_type": "text/plain"}),
    )
    .await;
    let reply = f.token(&CC).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.text, "");
    assert_eq!(reply.header("content-type"), Some("text/plain"));

    f.admin("/admin/faults", json!({"status": 429})).await;
    assert_eq!(f.token(&CC).await.str("error"), "slow_down");

    f.admin("/admin/faults", json!({"status": 500, "count": 5})).await;
    let cleared = f.http.delete(f.url("/admin/faults")).send().await.expect("request");
    assert_eq!(cleared.status(), StatusCode::OK);
    assert_eq!(f.token(&CC).await.status, StatusCode::OK);

    // Faults that do nothing, or have unknown fields, are refused.
    assert_eq!(
        f.admin("/admin/faults", json!({})).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        f.admin("/admin/faults", json!({"retryAfter": 1, "status": 503}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn malformed_fault_sends_truncated_json() {
    let f = start();
    f.admin("/admin/faults", json!({"malformed": true})).await;
    let reply = f.token(&CC).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text, MALFORMED_BODY);
    assert!(serde_json::from_str::<serde_json::Value>(&reply.text).is_err());
}

#[tokio::test]
async fn reset_fault_is_a_transport_error() {
    let f = start();
    f.admin("/admin/faults", json!({"reset": true})).await;
    let error = f.try_token(&CC).await.expect_err("the connection is aborted");
    assert!(error.is_request() || error.is_body() || error.is_connect(), "{error:?}");
    assert!(error.status().is_none());
    // The next request, on a new connection, works.
    assert_eq!(f.token(&CC).await.status, StatusCode::OK);
    assert_eq!(f.stats().await["token_requests"]["total"], 2);
}

#[tokio::test]
async fn delay_fault_then_normal_processing() {
    let f = start();
    f.server
        .state()
        .queue_fault(FaultSpec::delayed(300))
        .expect("valid fault");
    let started = Instant::now();
    let reply = f.token(&CC).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.str("access_token").starts_with("at_"));
}

#[tokio::test]
async fn expire_access_tokens_then_refresh() {
    let f = start();
    let tokens = f.sign_in("public-app", "").await;
    let at = tokens.str("access_token");
    assert_eq!(f.me(&at).await.status, StatusCode::OK);
    let reply = f.admin("/admin/expire-access-tokens", json!({})).await;
    assert_eq!(reply.json()["expired"], 1);
    let me = f.me(&at).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert!(me
        .header("www-authenticate")
        .is_some_and(|h| h.contains("invalid_token")));
    let fresh = f
        .refresh("public-app", &tokens.str("refresh_token"))
        .await
        .str("access_token");
    assert_eq!(f.me(&fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_all_and_reset() {
    let f = start();
    let tokens = f.sign_in("public-app", "").await;
    f.admin("/admin/revoke-all", json!({})).await;
    assert_eq!(f.me(&tokens.str("access_token")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.refresh("public-app", &tokens.str("refresh_token")).await.str("error"),
        "invalid_grant"
    );

    f.admin("/admin/clients", json!({"client_id": "temp"})).await;
    f.admin("/admin/faults", json!({"status": 503})).await;
    let reply = f.admin("/admin/reset", json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        f.token(&[("grant_type", "client_credentials"), ("client_id", "temp")])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(f.stats().await["token_requests"]["total"], 1);
}

#[tokio::test]
async fn api_requests_and_stats() {
    let f = start();
    let at = f.token(&CC).await.str("access_token");
    f.me(&at).await;
    f.get("/api/me").await;
    let missing = f.get("/api/me").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(missing
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer")));
    let redirect = f.get("/api/redirect?to=http%3A%2F%2Flocalhost%3A1%2Fapi%2Fme").await;
    assert_eq!(redirect.status, StatusCode::FOUND);
    assert_eq!(redirect.header("location"), Some("http://localhost:1/api/me"));
    f.post_form("/introspect", &[("token", &at)]).await;
    f.post_form("/revoke", &[("token", &at), ("client_id", "public-app")])
        .await;
    f.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "rt_x"),
        ("client_id", "public-app"),
    ])
    .await;
    f.token(&[("client_id", "public-app")]).await;

    let stats = f.stats().await;
    assert_eq!(
        stats,
        json!({
            "token_requests": {"total": 3, "refresh_token": 1, "client_credentials": 1, "authorization_code": 0, "device_code": 0, "other": 1},
            "revocations": 1,
            "introspections": 1,
            "api_requests": 4,
            "api_requests_with_authorization": 1,
            "refresh_reuse_within_grace": 0,
            "refresh_reuse_detected": 0,
            "token_requests_in_flight_max": 1,
        })
    );
    f.admin("/admin/reset-stats", json!({})).await;
    let stats = f.stats().await;
    assert_eq!(stats["token_requests"]["total"], 0);
    assert_eq!(stats["api_requests"], 0);
}

#[tokio::test]
async fn redirect_keeps_or_drops_authorization_as_the_client_decides() {
    // reqwest itself strips Authorization on cross-origin redirects: 127.0.0.1 → localhost.
    let f = start();
    let at = f.token(&CC).await.str("access_token");
    let target = format!("http://localhost:{}/api/me", f.server.port());
    let following = reqwest::Client::new();
    let reply = following
        .get(f.url("/api/redirect"))
        .query(&[("to", target.as_str())])
        .bearer_auth(&at)
        .send()
        .await
        .expect("request");
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let stats = f.stats().await;
    assert_eq!(stats["api_requests"], 2);
    assert_eq!(stats["api_requests_with_authorization"], 1);
}

#[tokio::test]
async fn token_request_log_redacts_secrets() {
    let f = start();
    let tokens = f.sign_in("public-app", "read").await;
    f.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &tokens.str("refresh_token")),
        ("client_id", "public-app"),
        ("scope", "read"),
        ("refresh_token_ttl", "60"),
    ])
    .await;
    f.token_basic("m2m-client", "m2m-secret", &[("grant_type", "client_credentials")])
        .await;
    f.token(&[
        ("grant_type", "client_credentials"),
        ("client_id", "confidential-app"),
        ("client_secret", "confidential-secret"),
    ])
    .await;

    let log = f.get("/admin/token-requests").await.json();
    let log = log.as_array().expect("array");
    assert_eq!(log.len(), 4);
    assert_eq!(log[0]["grant_type"], "authorization_code");
    assert_eq!(log[0]["client_auth"], "none");
    assert_eq!(log[0]["params"]["code"], "<redacted>");
    assert_eq!(log[0]["params"]["code_verifier"], "<redacted>");
    assert_eq!(log[1]["params"]["refresh_token"], "<redacted>");
    assert_eq!(log[1]["params"]["scope"], "read");
    assert_eq!(log[1]["params"]["refresh_token_ttl"], "60");
    assert_eq!(log[2]["client_auth"], "basic");
    assert_eq!(log[2]["client_id"], "m2m-client");
    assert_eq!(log[3]["client_auth"], "post");
    assert_eq!(log[3]["params"]["client_secret"], "<redacted>");
    let text = f.get("/admin/token-requests").await.text;
    for secret in ["confidential-secret", "m2m-secret", "rt_", "ac_", common::VERIFIER] {
        assert!(!text.contains(secret), "{secret} leaked into the log");
    }
}

#[tokio::test]
async fn in_process_control_matches_the_admin_api() {
    let f = start();
    let state = f.server.state();
    state
        .queue_fault(FaultSpec::with_status(502).retry_after(1))
        .expect("valid fault");
    assert_eq!(state.pending_faults().len(), 1);
    assert_eq!(f.token(&CC).await.status, StatusCode::BAD_GATEWAY);
    assert_eq!(state.stats().token_requests.total, 1);
    assert_eq!(state.token_requests().len(), 1);
    state.reset_stats();
    assert_eq!(state.stats(), Default::default());
}
