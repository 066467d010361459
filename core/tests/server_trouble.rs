//! Issue 10, cases 2, 4, 9 and 10: a server in trouble (5xx, long
//! `Retry-After`, odd answers) never ends a session, never holds the store
//! lock across a wait, and never overflows tokenkeep's arithmetic.

mod support;

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use support::*;
use tokenkeep::{MemoryStore, RefreshPolicy, SessionState, TokenKeepError, TokenKeeper, TokenKeeperOptions};

/// Case 2: an HTTP 503 whose body says `invalid_grant` is the server's
/// trouble: transient, tokens kept, the session goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_saying_invalid_grant_is_transient_and_keeps_the_session() {
    let fixture = Fixture::start();
    let policy = RefreshPolicy {
        max_retries: 1,
        ..fast_policy()
    };
    let (keeper, clock, listener) = signed_in_keeper_with(&fixture, policy).await;
    let before = keeper.tokens().expect("tokens").access_token();
    clock.advance_secs(3_600);
    for status in [500, 503] {
        fixture
            .fault(json!({"count": 2, "status": status, "body": r#"{"error":"invalid_grant","error_description":"upstream down"}"#}))
            .await;
        let error = keeper.access_token().await.expect_err("two 5xx answers");
        assert!(matches!(error, TokenKeepError::Transient { .. }), "{status}: {error:?}");
        assert_ne!(keeper.state(), SessionState::SessionExpired);
        assert_eq!(keeper.tokens().expect("kept").access_token(), before);
    }
    let after = keeper.access_token().await.expect("the server is back");
    assert_ne!(after, before);
    assert!(tokenkeep::flush_listener_events(5_000));
    assert!(listener.expired.lock().is_empty(), "the session never ended");
}

/// Case 4: a refresh answer with `"refresh_token": null` keeps the refresh
/// token held (RFC 6749 §6: the server MAY issue a new one).
#[tokio::test(flavor = "multi_thread")]
async fn a_null_refresh_token_in_a_refresh_answer_keeps_the_one_held() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    let held = keeper
        .tokens()
        .expect("tokens")
        .refresh_token()
        .expect("a refresh token");
    clock.advance_secs(3_600);
    fixture
        .fault(json!({"status": 200, "body": r#"{"access_token":"at_answered_with_null_rt","token_type":"Bearer","expires_in":3600,"refresh_token":null}"#}))
        .await;
    assert_eq!(
        keeper.access_token().await.expect("refreshed"),
        "at_answered_with_null_rt"
    );
    assert_eq!(keeper.tokens().expect("tokens").refresh_token(), Some(held));
    clock.advance_secs(3_600);
    keeper.access_token().await.expect("the held refresh token still works");
    assert_eq!(fixture.refresh_requests().await, 2);
}

/// A keeper whose refresh waits out `Retry-After` from the fixture.
fn patient_policy() -> RefreshPolicy {
    RefreshPolicy {
        max_retries: 3,
        max_retry_after_secs: 10,
        store_lock_timeout_ms: 1_000,
        ..fast_policy()
    }
}

/// Case 9: the store lock is not held across a `Retry-After` wait, so a
/// logout during one takes effect at once (it used to wait for the lock
/// until its timeout and fail with `LockTimeout`, leaving the user signed
/// in), and the refresh stops instead of sending again.
#[tokio::test(flavor = "multi_thread")]
async fn logout_does_not_wait_behind_a_refresh_that_waits_out_retry_after() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper_with(&fixture, patient_policy()).await;
    clock.advance_secs(3_600);
    fixture
        .fault(json!({"count": 4, "status": 503, "retry_after": 3}))
        .await;
    let refreshing = tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.access_token().await }
    });
    until("the first refresh attempt was answered", || async {
        fixture.refresh_requests().await == 1
    })
    .await;
    let started = Instant::now();
    keeper.logout().await.expect("logout takes the lock during the wait");
    let took = started.elapsed();
    eprintln!("logout during a 3 s Retry-After wait took {took:?}");
    assert_eq!(keeper.state(), SessionState::LoggedOut);
    let outcome = refreshing.await.expect("task");
    assert!(
        matches!(outcome, Err(TokenKeepError::NotSignedIn { .. })),
        "{outcome:?}"
    );
    assert_eq!(fixture.refresh_requests().await, 1, "nothing was sent after the logout");
}

/// Case 9: a second keeper of the account that needs a refresh while the
/// first waits out a `Retry-After` gets that refresh's transient error,
/// without a request of its own, and its tokens once it succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_keeper_shares_the_first_keepers_transient_failure() {
    let fixture = Fixture::start();
    let store = Arc::new(MemoryStore::new());
    let clock = tokenkeep::ManualClock::new();
    let build = || {
        TokenKeeper::new(TokenKeeperOptions {
            policy: patient_policy(),
            store: Some(store.clone()),
            clock: Some(clock.clone()),
            ..config(&fixture, "public-app")
        })
        .expect("builds")
    };
    let first = build();
    first
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set");
    let second = build();
    clock.advance_secs(3_600);
    fixture
        .fault(json!({"count": 1, "status": 503, "retry_after": 1}))
        .await;
    let refreshing = tokio::spawn({
        let first = first.clone();
        async move { first.access_token().await }
    });
    until("the first refresh attempt was answered", || async {
        fixture.refresh_requests().await == 1
    })
    .await;
    let error = second.access_token().await.expect_err("the first keeper's failure");
    assert!(
        matches!(
            error,
            TokenKeepError::Transient {
                retry_after_secs: Some(1),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(fixture.refresh_requests().await, 1, "the second keeper sent nothing");
    let token = refreshing.await.expect("task").expect("the retry succeeds");
    assert_eq!(second.access_token().await.expect("adopted"), token);
    assert_eq!(fixture.refresh_requests().await, 2);
}

/// Case 10: a `Retry-After` of 10^17 seconds used to overflow (a panic in
/// checked builds, turned into an internal error). It is a transient error
/// carrying it, and the session goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_retry_after_is_a_transient_error() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(3_600);
    let huge: u64 = 100_000_000_000_000_000;
    fixture.fault(json!({"status": 503, "retry_after": huge})).await;
    let error = keeper
        .access_token()
        .await
        .expect_err("the server asks to wait forever");
    assert!(
        matches!(error, TokenKeepError::Transient { retry_after_secs: Some(secs), .. } if u64::try_from(secs) == Ok(huge)),
        "{error:?}"
    );
    keeper.access_token().await.expect("the next call refreshes");
}

/// Case 10: the background refresher used to panic (and silently stop) on
/// a clock near the extremes. It keeps refreshing.
#[tokio::test(flavor = "multi_thread")]
async fn the_background_refresher_survives_clocks_near_the_extremes() {
    for start in [i64::MIN + 10_000_000, i64::MAX - 86_400_000 * 400] {
        let fixture = Fixture::start();
        let clock = tokenkeep::ManualClock::starting_at(start);
        let keeper = TokenKeeper::new(TokenKeeperOptions {
            policy: RefreshPolicy {
                proactive_refresh: true,
                ..fast_policy()
            },
            clock: Some(clock.clone()),
            ..config(&fixture, "public-app")
        })
        .expect("builds");
        keeper
            .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
            .expect("set");
        clock.advance_secs(3_570);
        // The server counts the request before the refresher publishes its
        // answer: wait for both.
        until("the background refresher refreshed", || async {
            fixture.refresh_requests().await == 1 && keeper.state() == SessionState::Valid
        })
        .await;
    }
}
