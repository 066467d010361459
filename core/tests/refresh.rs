//! Refresh on expiry, refresh ahead of expiry, rotation, and a refresh
//! response without a new refresh token, against the fixture server.

mod support;

use serde_json::json;
use support::*;
use tokenkeep::{ChangeReason, SessionState, TokenKeeperOptions};

#[tokio::test(flavor = "multi_thread")]
async fn fresh_token_is_served_without_a_request() {
    let fixture = Fixture::start();
    let (keeper, _clock, _) = signed_in_keeper(&fixture).await;
    let before = fixture.token_requests().await;
    let first = keeper.access_token().await.expect("token");
    for _ in 0..100 {
        assert_eq!(keeper.access_token().await.expect("token"), first);
    }
    assert_eq!(fixture.token_requests().await, before);
    assert_eq!(keeper.state(), SessionState::Valid);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_is_refreshed_and_both_tokens_rotate() {
    let fixture = Fixture::start();
    let (keeper, clock, listener) = signed_in_keeper(&fixture).await;
    let old = keeper.tokens().expect("tokens");
    clock.advance_secs(3_600);
    assert_eq!(keeper.state(), SessionState::Expired);

    let token = keeper.access_token().await.expect("refreshed token");
    let new = keeper.tokens().expect("tokens");
    assert_ne!(token, old.access_token());
    assert_eq!(token, new.access_token());
    assert_ne!(new.refresh_token(), old.refresh_token(), "the refresh token rotated");
    assert_eq!(fixture.refresh_requests().await, 1);
    assert_eq!(keeper.state(), SessionState::Valid);
    // The server now rejects the spent refresh token and accepts the new one.
    assert!(!fixture.is_active(&old.refresh_token().expect("old rt")).await);
    assert!(fixture.is_active(&new.refresh_token().expect("new rt")).await);
    eventually("a Refreshed event", || {
        listener
            .changed
            .lock()
            .iter()
            .any(|e| e.reason == ChangeReason::Refreshed && e.has_refresh_token)
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn inside_the_refresh_ahead_window_the_current_token_is_served_while_one_refresh_runs() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    let current = keeper.access_token().await.expect("token");
    // Slow the refresh down so we can watch it run in the background.
    fixture.fault(json!({"delay_ms": 300})).await;
    clock.advance_secs(3_600 - 30); // 30 s left: inside the 60 s window, outside the 10 s skew
    assert_eq!(keeper.state(), SessionState::RefreshDue);
    let started = std::time::Instant::now();
    assert_eq!(
        keeper.access_token().await.expect("served"),
        current,
        "the current token is served"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_millis(250),
        "the caller did not wait"
    );
    assert_eq!(keeper.state(), SessionState::Refreshing);
    // More callers in the window join the same refresh.
    for _ in 0..20 {
        assert_eq!(keeper.access_token().await.expect("served"), current);
    }
    until("the background refresh finished", || async {
        keeper.state() == SessionState::Valid
    })
    .await;
    assert_ne!(keeper.access_token().await.expect("new"), current);
    assert_eq!(fixture.refresh_requests().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_answer_without_a_refresh_token_keeps_the_old_one() {
    let fixture = Fixture::start();
    fixture
        .client(json!({"client_id": "steady-app", "rotation": false}))
        .await;
    let clock = tokenkeep::ManualClock::new();
    let keeper = tokenkeep::TokenKeeper::new(TokenKeeperOptions {
        clock: Some(clock.clone()),
        ..config(&fixture, "steady-app")
    })
    .expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("steady-app").await.to_string())
        .expect("set");
    let refresh_token = keeper.tokens().and_then(|t| t.refresh_token()).expect("rt");
    for round in 1..=3 {
        clock.advance_secs(3_600);
        keeper.access_token().await.expect("refreshed");
        assert_eq!(
            keeper.tokens().and_then(|t| t.refresh_token()),
            Some(refresh_token.clone()),
            "round {round}"
        );
    }
    assert_eq!(fixture.refresh_requests().await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn manual_refresh_always_refreshes_and_min_ttl_is_honoured() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    let first = keeper.access_token().await.expect("token");
    let refreshed = keeper.refresh().await.expect("refresh");
    assert_ne!(refreshed.access_token(), first);
    assert_eq!(fixture.refresh_requests().await, 1);
    // 50 minutes later, a caller that needs 15 minutes of validity waits for a refresh.
    clock.advance_secs(50 * 60);
    let tokens = keeper.valid_tokens(15 * 60).await.expect("valid tokens");
    assert_ne!(tokens.access_token(), refreshed.access_token());
    assert_eq!(fixture.refresh_requests().await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn proactive_refresh_runs_without_callers() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper_with(
        &fixture,
        tokenkeep::RefreshPolicy {
            proactive_refresh: true,
            ..fast_policy()
        },
    )
    .await;
    let first = keeper.tokens().expect("tokens").access_token();
    clock.advance_secs(3_600 - 30);
    until("the proactive refresh ran", || async {
        fixture.refresh_requests().await > 0
    })
    .await;
    until("the new tokens were published", || async {
        keeper.tokens().expect("tokens").access_token() != first
    })
    .await;
    // The new tokens are fresh for an hour on the manual clock, so nothing
    // is due any more: a token asked for a minute later comes without a
    // request, and the count stays at the one proactive refresh.
    clock.advance_secs(60);
    assert_ne!(keeper.access_token().await.expect("token"), first);
    assert_eq!(fixture.refresh_requests().await, 1, "exactly one proactive refresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_keepalive_refreshes_before_the_refresh_token_dies() {
    // Access tokens live 30 days here, refresh tokens 2 hours: only keep-alive refreshes.
    let fixture = Fixture::start();
    fixture
        .client(json!({"client_id": "long-access", "access_ttl": 2_592_000, "refresh_ttl": 7_200}))
        .await;
    let clock = tokenkeep::ManualClock::new();
    let keeper = tokenkeep::TokenKeeper::new(TokenKeeperOptions {
        clock: Some(clock.clone()),
        ..config(&fixture, "long-access")
    })
    .expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("long-access").await.to_string())
        .expect("set");
    clock.advance_secs(7_200 - 1_800); // 30 minutes of refresh-token life left (keep-alive window: 1 h)
    assert_eq!(keeper.state(), SessionState::RefreshDue);
    keeper.access_token().await.expect("token");
    until("the keep-alive refresh ran", || async {
        fixture.refresh_requests().await > 0
    })
    .await;
}
