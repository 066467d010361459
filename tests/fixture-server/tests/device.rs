//! End-to-end tests of the device authorization grant (RFC 8628): the
//! `/device_authorization` endpoint, the test approval at `/device/approve`, and
//! polling the token endpoint with the device code.

mod common;

use std::time::Duration;

use common::{start, start_with, Fixture, Reply};
use reqwest::StatusCode;
use serde_json::json;
use tokenkeep_fixture_server::{
    DeviceDecisionError, FaultSpec, ServerConfig, DEVICE_CODE_GRANT_TYPE, USER_CODE_ALPHABET,
};

/// `POST /device_authorization` for a public client.
async fn device_authorization(f: &Fixture, client_id: &str, scope: &str) -> Reply {
    let reply = f
        .post_form("/device_authorization", &[("client_id", client_id), ("scope", scope)])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply
}

/// Polls `/token` once with `device_code` for a public client.
async fn poll(f: &Fixture, client_id: &str, device_code: &str) -> Reply {
    f.token(&[
        ("grant_type", DEVICE_CODE_GRANT_TYPE),
        ("device_code", device_code),
        ("client_id", client_id),
    ])
    .await
}

/// Polls `/token` with `device_code` for a confidential client using Basic.
async fn poll_basic(f: &Fixture, id: &str, secret: &str, device_code: &str) -> Reply {
    f.token_basic(
        id,
        secret,
        &[("grant_type", DEVICE_CODE_GRANT_TYPE), ("device_code", device_code)],
    )
    .await
}

fn error_of(reply: &Reply) -> (StatusCode, String) {
    (reply.status, reply.str("error"))
}

fn bad(error: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, error.to_owned())
}

fn assert_user_code_shape(user_code: &str) {
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-", "{user_code}");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| USER_CODE_ALPHABET.contains(c)),
        "{user_code}"
    );
}

#[tokio::test]
async fn pending_then_approved_then_tokens() {
    let f = start();
    let reply = device_authorization(&f, "public-app", "read  write read").await;
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    let device_code = reply.str("device_code");
    let user_code = reply.str("user_code");
    // "dc_" + base64url of 256 random bits.
    assert!(
        device_code.starts_with("dc_") && device_code.len() == 3 + 43,
        "{device_code}"
    );
    assert_user_code_shape(&user_code);
    assert_eq!(body["verification_uri"], f.url("/device"));
    assert_eq!(
        body["verification_uri_complete"],
        f.url(&format!("/device?user_code={user_code}"))
    );
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 1);
    let other = device_authorization(&f, "public-app", "").await;
    assert_ne!(other.str("device_code"), device_code);

    // Before approval: authorization_pending, as often as the client likes.
    for _ in 0..3 {
        assert_eq!(
            error_of(&poll(&f, "public-app", &device_code).await),
            bad("authorization_pending")
        );
    }
    let page = f.get(&format!("/device?user_code={user_code}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/device/approve"), "{}", page.text);
    assert!(
        page.text.contains(&format!("user_code {user_code}: pending")),
        "{}",
        page.text
    );

    // The documented test approval; the user code is matched ignoring case and dashes.
    let typed = user_code.replace('-', "").to_lowercase();
    let approved = f
        .post_form("/device/approve", &[("user_code", &typed), ("login_hint", "alice")])
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    assert_eq!(approved.json(), json!({"approved": true}));
    assert!(f
        .get(&format!("/device?user_code={user_code}"))
        .await
        .text
        .contains(&format!("user_code {user_code}: approved")));

    let tokens = poll(&f, "public-app", &device_code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.header("cache-control"), Some("no-store"));
    let body = tokens.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token_expires_in"], 86_400);
    assert_eq!(body["scope"], "read write");
    let at = tokens.str("access_token");
    let rt = tokens.str("refresh_token");
    assert!(at.starts_with("at_") && rt.starts_with("rt_"));
    let me = f.me(&at).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.json(),
        json!({"sub": "alice", "client_id": "public-app", "scope": "read write"})
    );

    // Single use: a second redemption fails, without touching the issued tokens.
    assert_eq!(
        error_of(&poll(&f, "public-app", &device_code).await),
        bad("invalid_grant")
    );
    assert_eq!(f.me(&at).await.status, StatusCode::OK);
    assert!(f
        .get(&format!("/device?user_code={user_code}"))
        .await
        .text
        .contains(&format!("user_code {user_code}: used")));
    // The user code cannot be approved again either.
    let again = f.post_form("/device/approve", &[("user_code", &user_code)]).await;
    assert_eq!(error_of(&again), bad("invalid_request"));

    // Introspection, refresh (rotation) and revocation work as for any family.
    let info = f.post_form("/introspect", &[("token", &at)]).await.json();
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "alice");
    assert_eq!(info["client_id"], "public-app");
    let refreshed = f.refresh("public-app", &rt).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let rt2 = refreshed.str("refresh_token");
    let at2 = refreshed.str("access_token");
    let revoked = f
        .post_form("/revoke", &[("token", &rt2), ("client_id", "public-app")])
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(f.me(&at).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.me(&at2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.post_form("/introspect", &[("token", &rt2)]).await.json(),
        json!({"active": false})
    );
}

#[tokio::test]
async fn default_subject_and_in_process_approval_and_camel_case() {
    let f = start();
    let reply = device_authorization(&f, "camel-app", "read").await;
    let device_code = reply.str("device_code");
    let user_code = reply.str("user_code");
    // FixtureState has the same control as POST /device/approve.
    assert_eq!(
        f.server.state().approve_user_code("BCDF-BCDF", "x"),
        Err(DeviceDecisionError::UnknownUserCode)
    );
    f.server
        .state()
        .approve_user_code(&user_code, "test-user")
        .expect("pending user code");
    assert_eq!(
        f.server.state().deny_user_code(&user_code),
        Err(DeviceDecisionError::AlreadyDecided)
    );
    let tokens = poll(&f, "camel-app", &device_code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    let body = tokens.json();
    assert!(
        body["accessToken"].is_string() && body["refreshToken"].is_string(),
        "{body}"
    );
    assert!(body.get("access_token").is_none());
    assert_eq!(body["scope"], "read");

    // Approval over HTTP without login_hint signs in as test-user.
    let reply = device_authorization(&f, "public-app", "").await;
    let approved = f
        .post_form("/device/approve", &[("user_code", &reply.str("user_code"))])
        .await;
    assert_eq!(approved.json(), json!({"approved": true}));
    let tokens = poll(&f, "public-app", &reply.str("device_code")).await;
    let body = tokens.json();
    assert!(body.get("scope").is_none(), "{body}");
    let me = f.me(&tokens.str("access_token")).await.json();
    assert_eq!(me["sub"], "test-user");
}

#[tokio::test]
async fn denied_gets_access_denied() {
    let f = start();
    let reply = device_authorization(&f, "public-app", "read").await;
    let device_code = reply.str("device_code");
    let user_code = reply.str("user_code");
    let denied = f
        .post_form("/device/approve", &[("user_code", &user_code), ("deny", "true")])
        .await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.text);
    assert_eq!(denied.json(), json!({"denied": true}));
    for _ in 0..2 {
        assert_eq!(
            error_of(&poll(&f, "public-app", &device_code).await),
            bad("access_denied")
        );
    }
    // A decided request cannot be approved afterwards.
    let approve = f.post_form("/device/approve", &[("user_code", &user_code)]).await;
    assert_eq!(error_of(&approve), bad("invalid_request"));
    assert_eq!(
        error_of(&poll(&f, "public-app", &device_code).await),
        bad("access_denied")
    );
}

#[tokio::test]
async fn approval_errors() {
    let f = start();
    let unknown = f.post_form("/device/approve", &[("user_code", "BCDF-GHJK")]).await;
    assert_eq!(error_of(&unknown), bad("invalid_request"));
    assert!(unknown.str("error_description").contains("unknown"));
    let garbage = f.post_form("/device/approve", &[("user_code", "not a code")]).await;
    assert_eq!(error_of(&garbage), bad("invalid_request"));
    let missing = f.post_form("/device/approve", &[("login_hint", "x")]).await;
    assert_eq!(error_of(&missing), bad("invalid_request"));
    let user_code = device_authorization(&f, "public-app", "").await.str("user_code");
    let bad_deny = f
        .post_form("/device/approve", &[("user_code", &user_code), ("deny", "maybe")])
        .await;
    assert_eq!(error_of(&bad_deny), bad("invalid_request"));
    // ...and that left the request pending.
    let ok = f
        .post_form("/device/approve", &[("user_code", &user_code), ("deny", "false")])
        .await;
    assert_eq!(ok.json(), json!({"approved": true}));

    let unknown_code = poll(&f, "public-app", "dc_nope").await;
    assert_eq!(error_of(&unknown_code), bad("invalid_grant"));
    let missing_code = f
        .token(&[("grant_type", DEVICE_CODE_GRANT_TYPE), ("client_id", "public-app")])
        .await;
    assert_eq!(error_of(&missing_code), bad("invalid_request"));
}

#[tokio::test]
async fn expired_device_code_gets_expired_token() {
    let f = start_with(ServerConfig {
        device_code_ttl_secs: 1,
        device_interval_secs: 5,
        ..ServerConfig::default()
    });
    let pending = device_authorization(&f, "public-app", "").await;
    assert_eq!(pending.json()["expires_in"], 1);
    assert_eq!(pending.json()["interval"], 5);
    let approved = device_authorization(&f, "public-app", "").await;
    let approval = f
        .post_form("/device/approve", &[("user_code", &approved.str("user_code"))])
        .await;
    assert_eq!(approval.status, StatusCode::OK, "{}", approval.text);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    assert_eq!(
        error_of(&poll(&f, "public-app", &pending.str("device_code")).await),
        bad("expired_token")
    );
    // Approved but never redeemed in time: expired too.
    assert_eq!(
        error_of(&poll(&f, "public-app", &approved.str("device_code")).await),
        bad("expired_token")
    );
    let late = f
        .post_form("/device/approve", &[("user_code", &pending.str("user_code"))])
        .await;
    assert_eq!(error_of(&late), bad("expired_token"));
    let page = f.get(&format!("/device?user_code={}", pending.str("user_code"))).await;
    assert!(page.text.ends_with(": expired\n"), "{}", page.text);
}

#[tokio::test]
async fn device_code_of_another_client_is_invalid_grant() {
    let f = start();
    let reply = device_authorization(&f, "public-app", "").await;
    let device_code = reply.str("device_code");
    f.post_form("/device/approve", &[("user_code", &reply.str("user_code"))])
        .await;
    assert_eq!(
        error_of(&poll(&f, "camel-app", &device_code).await),
        bad("invalid_grant")
    );
    assert_eq!(
        error_of(&poll_basic(&f, "confidential-app", "confidential-secret", &device_code).await),
        bad("invalid_grant")
    );
    // ...without side effects: the right client still redeems it.
    assert_eq!(poll(&f, "public-app", &device_code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn confidential_clients_must_authenticate() {
    let f = start();
    let endpoint = f.url("/device_authorization");
    let unauthenticated = [
        f.post_form("/device_authorization", &[("client_id", "confidential-app")])
            .await,
        f.post_form(
            "/device_authorization",
            &[("client_id", "confidential-app"), ("client_secret", "wrong")],
        )
        .await,
        f.post_form("/device_authorization", &[("client_id", "nobody")]).await,
        f.post_form("/device_authorization", &[("scope", "read")]).await,
        f.post_form(
            "/device_authorization",
            &[("client_id", "public-app"), ("client_secret", "x")],
        )
        .await,
    ];
    for reply in &unauthenticated {
        assert_eq!(error_of(reply), (StatusCode::UNAUTHORIZED, "invalid_client".into()));
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"tokenkeep-fixture\"")
        );
    }
    let not_a_form = f
        .http
        .post(&endpoint)
        .json(&json!({"client_id": "public-app"}))
        .send()
        .await
        .expect("request");
    assert_eq!(not_a_form.status(), StatusCode::BAD_REQUEST);

    // client_secret_post works...
    let post = f
        .post_form(
            "/device_authorization",
            &[
                ("client_id", "confidential-app"),
                ("client_secret", "confidential-secret"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.text);
    // ...and so does client_secret_basic.
    let basic = f
        .http
        .post(&endpoint)
        .basic_auth("confidential-app", Some("confidential-secret"))
        .form(&[("scope", "read")])
        .send()
        .await
        .expect("request");
    assert_eq!(basic.status(), StatusCode::OK);
    let body: serde_json::Value = basic.json().await.expect("JSON");
    let device_code = body["device_code"].as_str().expect("device_code").to_owned();
    let user_code = body["user_code"].as_str().expect("user_code").to_owned();

    // Polling needs the client's authentication too.
    let no_secret = poll(&f, "confidential-app", &device_code).await;
    assert_eq!(
        error_of(&no_secret),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    let wrong = poll_basic(&f, "confidential-app", "wrong", &device_code).await;
    assert_eq!(error_of(&wrong), (StatusCode::UNAUTHORIZED, "invalid_client".into()));
    assert_eq!(
        error_of(&poll_basic(&f, "confidential-app", "confidential-secret", &device_code).await),
        bad("authorization_pending")
    );
    f.post_form("/device/approve", &[("user_code", &user_code)]).await;
    let tokens = f
        .token(&[
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("device_code", &device_code),
            ("client_id", "confidential-app"),
            ("client_secret", "confidential-secret"),
        ])
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert_eq!(tokens.json()["scope"], "read");
}

#[tokio::test]
async fn slow_down_only_through_faults() {
    let f = start();
    let device_code = device_authorization(&f, "public-app", "").await.str("device_code");
    // Polling far faster than the interval never gets slow_down by itself.
    for _ in 0..5 {
        assert_eq!(
            error_of(&poll(&f, "public-app", &device_code).await),
            bad("authorization_pending")
        );
    }
    let mut fault = FaultSpec::with_status(400);
    fault.body = Some(r#"{"error":"slow_down"}"#.into());
    f.server.state().queue_fault(fault).expect("valid fault");
    let queued = f
        .admin(
            "/admin/faults",
            json!({"status": 400, "body": "{\"error\":\"slow_down\"}"}),
        )
        .await;
    assert_eq!(queued.status, StatusCode::OK, "{}", queued.text);
    for _ in 0..2 {
        assert_eq!(error_of(&poll(&f, "public-app", &device_code).await), bad("slow_down"));
    }
    assert_eq!(
        error_of(&poll(&f, "public-app", &device_code).await),
        bad("authorization_pending")
    );
}

#[tokio::test]
async fn device_grants_are_counted_and_redacted() {
    let f = start();
    let reply = device_authorization(&f, "public-app", "").await;
    let device_code = reply.str("device_code");
    poll(&f, "public-app", &device_code).await;
    f.post_form("/device/approve", &[("user_code", &reply.str("user_code"))])
        .await;
    poll(&f, "public-app", &device_code).await;
    poll(&f, "public-app", &device_code).await;
    f.token(&[("grant_type", "client_credentials"), ("client_id", "public-app")])
        .await;
    let stats = f.stats().await;
    assert_eq!(stats["token_requests"]["total"], 4);
    assert_eq!(stats["token_requests"]["device_code"], 3);
    assert_eq!(stats["token_requests"]["client_credentials"], 1);
    assert_eq!(stats["token_requests"]["other"], 0);
    assert_eq!(f.server.state().stats().token_requests.device_code, 3);

    let log = f.get("/admin/token-requests").await;
    assert!(!log.text.contains(&device_code), "device code logged: {}", log.text);
    let log = log.json();
    assert_eq!(log[0]["grant_type"], DEVICE_CODE_GRANT_TYPE);
    assert_eq!(log[0]["params"]["device_code"], "<redacted>");
    assert_eq!(log[0]["client_id"], "public-app");

    f.admin("/admin/reset-stats", json!({})).await;
    assert_eq!(f.stats().await["token_requests"]["device_code"], 0);
    // A full reset forgets pending device codes.
    let pending = device_authorization(&f, "public-app", "").await;
    f.admin("/admin/reset", json!({})).await;
    assert_eq!(
        error_of(&poll(&f, "public-app", &pending.str("device_code")).await),
        bad("invalid_grant")
    );
}

#[tokio::test]
async fn metadata_advertises_the_device_grant() {
    let f = start();
    let doc = f.get("/.well-known/oauth-authorization-server").await.json();
    assert_eq!(doc["device_authorization_endpoint"], f.url("/device_authorization"));
    let grants = doc["grant_types_supported"].as_array().expect("array");
    assert!(grants.contains(&json!(DEVICE_CODE_GRANT_TYPE)), "{grants:?}");
    assert!(grants.contains(&json!("authorization_code")));
    let page = f.get("/device").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/plain")));
}
