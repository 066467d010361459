//! However many callers need a refresh, the token endpoint sees one request.

mod support;

use std::sync::Arc;

use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_concurrent_tasks_on_an_expired_token_make_one_refresh_request() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(7_200);
    // Hold the refresh at the server for a moment so all callers pile up.
    fixture.fault(json!({"delay_ms": 200})).await;
    let tokens: Vec<String> = concurrent_access_tokens(&keeper, 1_000)
        .await
        .into_iter()
        .map(|t| t.expect("token"))
        .collect();
    assert_eq!(fixture.refresh_requests().await, 1, "exactly one refresh request");
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "every caller got the same new token"
    );
    assert_eq!(tokens[0], keeper.tokens().expect("tokens").access_token());
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_threads_with_blocking_calls_and_a_manual_refresh_share_one_request() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(7_200);
    // The refresh is held at the server for a second: long enough for the
    // manual refresh below, sent once the server has the request, to join it.
    fixture.fault(json!({"delay_ms": 1_000})).await;
    let barrier = Arc::new(std::sync::Barrier::new(51));
    let mut threads = Vec::new();
    for _ in 0..50 {
        let keeper = keeper.clone();
        let barrier = barrier.clone();
        threads.push(std::thread::spawn(move || {
            barrier.wait();
            keeper.access_token_blocking()
        }));
    }
    barrier.wait();
    // A manual refresh during the flight joins it: the server counts the
    // request on arrival, before the delay.
    until("the refresh reached the server", || async {
        fixture.refresh_requests().await == 1
    })
    .await;
    let manual = keeper.refresh().await.expect("manual refresh").access_token();
    for thread in threads {
        assert_eq!(thread.join().expect("thread").expect("token"), manual);
    }
    assert_eq!(fixture.refresh_requests().await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_callers_all_receive_the_error_of_the_one_failed_refresh() {
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    clock.advance_secs(7_200);
    // 1 + 3 retries, all failing.
    fixture.fault(json!({"count": 4, "status": 503, "delay_ms": 50})).await;
    for answer in concurrent_access_tokens(&keeper, 200).await {
        let error = answer.expect_err("the refresh failed");
        assert!(
            matches!(error, tokenkeep::TokenKeepError::Transient { .. }),
            "{error:?}"
        );
    }
    assert_eq!(
        fixture.refresh_requests().await,
        4,
        "one refresh: one request and three retries"
    );
    assert!(keeper.tokens().is_some(), "tokens are kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn callers_arriving_as_a_refresh_finishes_do_not_start_another() {
    // No server delay: callers keep arriving while the refresh completes, the
    // window in which a late caller could otherwise start a second refresh.
    let fixture = Fixture::start();
    let (keeper, clock, _) = signed_in_keeper(&fixture).await;
    let rounds = 100;
    for _ in 0..rounds {
        clock.advance_secs(7_200);
        for answer in concurrent_access_tokens(&keeper, 200).await {
            answer.expect("token");
        }
    }
    assert_eq!(fixture.refresh_requests().await, rounds, "one refresh per expiry");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_sessions_of_one_account_on_one_store_share_one_refresh() {
    let fixture = Fixture::start();
    let store: Arc<dyn tokenkeep::TokenStore> = Arc::new(tokenkeep::MemoryStore::new());
    let clock = tokenkeep::ManualClock::new();
    let listener = Arc::new(RecordingListener::default());
    let build = |listener: Option<Arc<RecordingListener>>| {
        tokenkeep::TokenKeeper::new(tokenkeep::TokenKeeperOptions {
            store: Some(store.clone()),
            clock: Some(clock.clone()),
            listener: listener.map(|l| l as Arc<dyn tokenkeep::SessionListener>),
            ..config(&fixture, "public-app")
        })
        .expect("builds")
    };
    let first = build(None);
    first
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set");
    let second = build(Some(listener.clone()));
    clock.advance_secs(7_200);
    let a = first.access_token().await.expect("first refreshes");
    let b = second.access_token().await.expect("second adopts");
    assert_eq!(a, b);
    assert_eq!(fixture.refresh_requests().await, 1);
    eventually("an Adopted event", || {
        listener
            .changed
            .lock()
            .iter()
            .any(|e| e.reason == tokenkeep::ChangeReason::Adopted)
    });
}
