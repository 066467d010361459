//! Network errors, timeouts, 5xx and 429 never drop tokens; retries back off
//! and honour Retry-After; unusable answers are typed errors.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use tokenkeep::{RefreshPolicy, SessionState, TokenKeepError, TokenKeeper, TokenKeeperOptions};

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_are_retried_and_the_refresh_succeeds() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(3_600);
    fixture.fault(json!({"count": 2, "status": 503})).await;
    let token = keeper.access_token().await.expect("third attempt succeeds");
    assert_eq!(token, keeper.tokens().expect("tokens").access_token());
    assert_eq!(fixture.refresh_requests().await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_resets_are_retried() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(3_600);
    fixture.fault(json!({"count": 2, "reset": true})).await;
    keeper.access_token().await.expect("succeeds after two resets");
    assert_eq!(fixture.refresh_requests().await, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(3_600);
    fixture.fault(json!({"status": 429, "retry_after": 1})).await;
    let started = Instant::now();
    keeper.access_token().await.expect("succeeds after waiting");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(fixture.refresh_requests().await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_beyond_the_cap_fails_at_once_keeping_the_tokens() {
    let fixture = Fixture::start();
    let (keeper, clock, listener) = signed_in_keeper(&fixture).await;
    let before = keeper.tokens().expect("tokens");
    clock.advance_secs(3_600);
    fixture.fault(json!({"status": 503, "retry_after": 3_600})).await;
    let started = Instant::now();
    let error = keeper.access_token().await.expect_err("server asked for an hour");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(
            error,
            TokenKeepError::Transient {
                retry_after_secs: Some(3_600),
                oauth_error: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(keeper.tokens().expect("kept").refresh_token(), before.refresh_token());
    eventually("a refresh-failed event", || {
        listener
            .failed
            .lock()
            .iter()
            .any(|f| f.transient && f.retry_after_secs == Some(3_600))
    });
    // Once the server is back, the same call succeeds.
    keeper.access_token().await.expect("recovers");
}

#[tokio::test(flavor = "multi_thread")]
async fn exhausted_retries_keep_the_tokens() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(3_600);
    fixture
        .fault(json!({"count": 4, "status": 500, "body": "<html>oops</html>", "content_type": "text/html"}))
        .await;
    let error = keeper.access_token().await.expect_err("all attempts fail");
    assert!(matches!(error, TokenKeepError::Transient { .. }), "{error:?}");
    assert!(error.to_string().contains("HTTP 500"), "{error}");
    assert!(keeper.tokens().is_some());
    assert_eq!(keeper.state(), SessionState::Expired);
    keeper.access_token().await.expect("recovers");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_transient() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper_with(
        &fixture,
        RefreshPolicy {
            request_timeout_ms: 200,
            max_retries: 0,
            ..fast_policy()
        },
    )
    .await;
    clock.advance_secs(3_600);
    fixture.fault(json!({"delay_ms": 1_000})).await;
    let error = keeper.access_token().await.expect_err("times out");
    assert!(matches!(error, TokenKeepError::Transient { .. }), "{error:?}");
    assert!(error.to_string().contains("timed out"), "{error}");
    assert!(keeper.tokens().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_answer_is_a_protocol_error_and_keeps_the_tokens() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(3_600);
    fixture.fault(json!({"malformed": true})).await;
    let error = keeper.access_token().await.expect_err("malformed");
    assert!(matches!(error, TokenKeepError::BadResponse { .. }), "{error:?}");
    assert!(error.to_string().contains("not valid JSON"), "{error}");
    assert!(keeper.tokens().is_some(), "tokens kept");
    assert_eq!(fixture.refresh_requests().await, 1, "a malformed 200 is not retried");
}

/// With `unexplained_refusal_ends_session` off (see session_end.rs for the
/// default), a bare 400 is a protocol error that keeps the tokens.
#[tokio::test(flavor = "multi_thread")]
async fn a_400_with_an_empty_body_is_explained() {
    let fixture = Fixture::start();
    let config = tokenkeep::TokenKeeperOptions {
        unexplained_refusal_ends_session: false,
        ..config(&fixture, "public-app")
    };
    let (keeper, clock, _) = signed_in_keeper_for(&fixture, config, fast_policy()).await;
    clock.advance_secs(3_600);
    fixture.fault(json!({"status": 400, "body": ""})).await;
    let error = keeper.access_token().await.expect_err("400");
    assert!(matches!(error, TokenKeepError::BadResponse { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("HTTP 400") && text.contains("empty body") && text.contains("§5.2"),
        "{text}"
    );
    assert!(keeper.tokens().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_transient() {
    let fixture = Fixture::start();
    let url = fixture.url("/token");
    drop(fixture);
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        policy: fast_policy(),
        clock: Some(clock.clone()),
        ..tokenkeep::TokenKeeperOptions::new(url, "public-app")
    })
    .expect("builds");
    keeper
        .set_tokens("at".into(), Some("rt".into()), Some(60), None, None)
        .expect("set");
    clock.advance_secs(120);
    let error = keeper.access_token().await.expect_err("unreachable");
    assert!(matches!(error, TokenKeepError::Transient { .. }), "{error:?}");
    assert!(error.to_string().contains("connect"), "{error}");
}
