//! The refresh-token reuse grace period over real HTTP: the refresh token a
//! family rotated most recently is answered again (new tokens, same family)
//! for `refresh_reuse_grace_secs` after its rotation; an older token, or the
//! same token after the window, is reuse and revokes the family. Server-wide
//! setting, per-client override through `/admin/clients`, and the `/stats`
//! counters.

mod common;

use std::time::{Duration, Instant};

use common::{start_with, Fixture, Reply};
use reqwest::StatusCode;
use serde_json::json;
use tokenkeep_fixture_server::{ServerConfig, REUSE_DESCRIPTION};

/// A server whose every client has a reuse grace period of `grace_secs`.
fn server_with_grace(grace_secs: u64) -> Fixture {
    start_with(ServerConfig {
        refresh_reuse_grace_secs: grace_secs,
        ..ServerConfig::default()
    })
}

fn assert_reuse_detected(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert_eq!(reply.str("error"), "invalid_grant");
    assert_eq!(reply.str("error_description"), REUSE_DESCRIPTION);
}

fn assert_refreshed(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.str("access_token").starts_with("at_"));
    assert!(reply.str("refresh_token").starts_with("rt_"));
}

/// `(refresh_reuse_within_grace, refresh_reuse_detected)` from `GET /stats`.
async fn reuse_counters(f: &Fixture) -> (u64, u64) {
    let stats = f.stats().await;
    let count = |name: &str| {
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name:?} in {stats}"))
    };
    (count("refresh_reuse_within_grace"), count("refresh_reuse_detected"))
}

#[tokio::test]
async fn within_grace_the_rotated_token_is_answered_in_the_same_family() {
    let f = server_with_grace(30);
    let rt0 = f.sign_in("public-app", "read").await.str("refresh_token");
    let first = f.refresh("public-app", &rt0).await;
    assert_refreshed(&first);
    let (at1, rt1) = (first.str("access_token"), first.str("refresh_token"));

    // The answer to rt0 was lost (say, the client crashed before saving it):
    // rt0 again, twice, is answered with new tokens each time.
    let again = f.refresh("public-app", &rt0).await;
    assert_refreshed(&again);
    assert_eq!(again.str("scope"), "read");
    let (at2, rt2) = (again.str("access_token"), again.str("refresh_token"));
    assert!(at2 != at1 && rt2 != rt1 && rt2 != rt0);
    let third = f.refresh("public-app", &rt0).await;
    assert_refreshed(&third);
    assert_eq!(reuse_counters(&f).await, (2, 0));

    // Nothing was revoked: the earlier answer's tokens still work.
    assert_eq!(f.me(&at1).await.status, StatusCode::OK);
    assert_eq!(f.me(&at2).await.status, StatusCode::OK);

    // Same family: rt2 rotates normally, and then rt0 (no longer the latest
    // rotated token) is reuse, which revokes what the grace answers issued.
    let next = f.refresh("public-app", &rt2).await;
    assert_refreshed(&next);
    assert_reuse_detected(&f.refresh("public-app", &rt0).await);
    assert_eq!(f.me(&at2).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.me(&next.str("access_token")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(f.refresh("public-app", &rt1).await.str("error"), "invalid_grant");
    assert_eq!(reuse_counters(&f).await, (2, 1));
}

#[tokio::test]
async fn a_token_two_rotations_old_is_reuse_even_within_grace() {
    let f = server_with_grace(30);
    let rt0 = f.sign_in("public-app", "").await.str("refresh_token");
    let first = f.refresh("public-app", &rt0).await;
    assert_refreshed(&first);
    let second = f.refresh("public-app", &first.str("refresh_token")).await;
    assert_refreshed(&second);

    assert_reuse_detected(&f.refresh("public-app", &rt0).await);
    assert_eq!(f.me(&second.str("access_token")).await.status, StatusCode::UNAUTHORIZED);
    let newest = f.refresh("public-app", &second.str("refresh_token")).await;
    assert_eq!(newest.status, StatusCode::BAD_REQUEST);
    assert_eq!(newest.str("error"), "invalid_grant");
    assert_eq!(reuse_counters(&f).await, (0, 1));
}

#[tokio::test]
async fn after_the_grace_period_the_rotated_token_is_reuse() {
    let grace = Duration::from_secs(1);
    let f = server_with_grace(grace.as_secs());
    let rt0 = f.sign_in("public-app", "").await.str("refresh_token");
    let first = f.refresh("public-app", &rt0).await;
    // The server rotated rt0 before it answered, so once `grace` has passed
    // since the answer arrived, the window is over at the server too.
    let answered = Instant::now();
    assert_refreshed(&first);
    let window_over = answered + grace + Duration::from_millis(50);
    tokio::time::sleep(window_over.saturating_duration_since(Instant::now())).await;

    assert_reuse_detected(&f.refresh("public-app", &rt0).await);
    assert_eq!(f.me(&first.str("access_token")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.refresh("public-app", &first.str("refresh_token")).await.str("error"),
        "invalid_grant"
    );
    assert_eq!(reuse_counters(&f).await, (0, 1));
}

#[tokio::test]
async fn the_default_is_no_grace() {
    let f = start_with(ServerConfig::default());
    let rt0 = f.sign_in("public-app", "").await.str("refresh_token");
    assert_refreshed(&f.refresh("public-app", &rt0).await);
    assert_reuse_detected(&f.refresh("public-app", &rt0).await);
    assert_eq!(reuse_counters(&f).await, (0, 1));
}

#[tokio::test]
async fn a_client_overrides_the_server_grace_through_the_admin_api() {
    // Server-wide off, one client with 30 s.
    let f = server_with_grace(0);
    let registered = f
        .admin(
            "/admin/clients",
            json!({"client_id": "forgiving-app", "refresh_reuse_grace_secs": 30}),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.text);
    let rt0 = f.sign_in("forgiving-app", "").await.str("refresh_token");
    assert_refreshed(&f.refresh("forgiving-app", &rt0).await);
    assert_refreshed(&f.refresh("forgiving-app", &rt0).await);
    let other = f.sign_in("public-app", "").await.str("refresh_token");
    assert_refreshed(&f.refresh("public-app", &other).await);
    assert_reuse_detected(&f.refresh("public-app", &other).await);
    assert_eq!(reuse_counters(&f).await, (1, 1));

    // Server-wide 30 s, one client with 0: that client gets none.
    let f = server_with_grace(30);
    f.admin(
        "/admin/clients",
        json!({"client_id": "strict-app", "refresh_reuse_grace_secs": 0}),
    )
    .await;
    let rt0 = f.sign_in("strict-app", "").await.str("refresh_token");
    assert_refreshed(&f.refresh("strict-app", &rt0).await);
    assert_reuse_detected(&f.refresh("strict-app", &rt0).await);
    let other = f.sign_in("public-app", "").await.str("refresh_token");
    assert_refreshed(&f.refresh("public-app", &other).await);
    assert_refreshed(&f.refresh("public-app", &other).await);
    assert_eq!(reuse_counters(&f).await, (1, 1));

    // A bad value is refused.
    let refused = f
        .admin(
            "/admin/clients",
            json!({"client_id": "x", "refresh_reuse_grace_secs": "soon"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}
