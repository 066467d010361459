//! invalid_grant ends the session: tokens purged from the store, listeners
//! told once, callers get the typed "sign in again" error.

mod support;

use std::sync::Arc;

use serde_json::json;
use support::*;
use tokenkeep::{MemoryStore, SessionState, TokenKeepError, TokenKeeper, TokenKeeperOptions};

#[tokio::test(flavor = "multi_thread")]
async fn reuse_of_a_rotated_refresh_token_ends_the_session() {
    let fixture = Fixture::start();
    let tokens = fixture.sign_in_tokens("public-app").await.to_string();
    // Two sessions hold copies of the same refresh token (a leaked copy, or two
    // processes that do not share a store).
    let store_a = Arc::new(MemoryStore::new());
    let clock = tokenkeep::ManualClock::new();
    let listener_a = Arc::new(RecordingListener::default());
    let a = TokenKeeper::new(TokenKeeperOptions {
        store: Some(store_a.clone()),
        clock: Some(clock.clone()),
        listener: Some(listener_a.clone()),
        ..config(&fixture, "public-app")
    })
    .expect("a");
    let b = TokenKeeper::new(TokenKeeperOptions {
        clock: Some(clock.clone()),
        ..config(&fixture, "public-app")
    })
    .expect("b");
    a.set_token_response(tokens.clone()).expect("a set");
    b.set_token_response(tokens).expect("b set");

    clock.advance_secs(3_600);
    a.access_token().await.expect("a refreshes first and rotates");
    let error = b.access_token().await.expect_err("b presents the spent refresh token");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert!(error.to_string().contains("sign in again"), "{error}");
    assert_eq!(b.state(), SessionState::SessionExpired);
    assert!(b.tokens().is_none());

    // The server revoked the whole family: a's rotated tokens are dead too.
    clock.advance_secs(3_600);
    let error = a.access_token().await.expect_err("family revoked");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert_eq!(a.state(), SessionState::SessionExpired);
    assert!(store_a.is_empty(), "the store record was purged");
    eventually("one session-expired event", || listener_a.expired.lock().len() == 1);

    // Further calls fail the same way without contacting the server, and the
    // listener is not told again.
    let requests = fixture.token_requests().await;
    for _ in 0..5 {
        assert!(matches!(
            a.access_token().await,
            Err(TokenKeepError::SessionExpired { .. })
        ));
        assert!(matches!(a.refresh().await, Err(TokenKeepError::SessionExpired { .. })));
    }
    assert_eq!(fixture.token_requests().await, requests);
    assert!(tokenkeep::flush_listener_events(5_000), "every event delivered");
    assert_eq!(listener_a.expired.lock().len(), 1, "told once");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_refresh_token_ends_the_session_and_signing_in_again_revives_it() {
    let fixture = Fixture::start();
    fixture
        .client(json!({"client_id": "short-rt", "access_ttl": 1, "refresh_ttl": 1}))
        .await;
    let store = Arc::new(MemoryStore::new());
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        store: Some(store.clone()),
        clock: Some(clock.clone()),
        ..config(&fixture, "short-rt")
    })
    .expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("short-rt").await.to_string())
        .expect("set");
    assert_eq!(store.len(), 1);
    clock.advance_secs(2); // past both stated lifetimes (1 s each)
    let requests = fixture.token_requests().await;
    let error = keeper
        .access_token()
        .await
        .expect_err("the refresh token's stated lifetime ran out");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert!(error.to_string().contains("refresh token expired"), "{error}");
    assert_eq!(keeper.state(), SessionState::SessionExpired);
    // Issue 10, case 5: a refresh token known to be dead is never sent, and
    // the record stays (only a refusal by the server or logout removes it).
    assert_eq!(
        fixture.token_requests().await,
        requests,
        "no refresh that can only fail"
    );
    assert_eq!(store.len(), 1);
    keeper
        .set_token_response(fixture.sign_in_tokens("short-rt").await.to_string())
        .expect("sign in again");
    assert_eq!(keeper.state(), SessionState::Valid);
    assert_eq!(store.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_without_a_refresh_token_asks_for_sign_in_but_keeps_the_store() {
    let fixture = Fixture::start();
    let store = Arc::new(MemoryStore::new());
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        store: Some(store.clone()),
        clock: Some(clock.clone()),
        ..config(&fixture, "public-app")
    })
    .expect("builds");
    keeper
        .set_tokens("at_only".into(), None, Some(60), None, None)
        .expect("set");
    clock.advance_secs(120);
    let error = keeper.access_token().await.expect_err("cannot refresh");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert_eq!(store.len(), 1, "nothing is deleted without invalid_grant or logout");
    assert_eq!(fixture.token_requests().await, 0);
}

/// Issue 11, case 9: a server that answers every token-endpoint error with a
/// bare HTTP 400 (or 401) and no body has refused the refresh token: the
/// session ends with its own reason instead of sending the dead token again
/// on every call.
#[tokio::test(flavor = "multi_thread")]
async fn a_bare_400_or_401_to_a_refresh_ends_the_session_with_its_own_reason() {
    for (status, body) in [(400, ""), (401, ""), (400, "<html>Bad Request</html>")] {
        let fixture = Fixture::start();
        let store = Arc::new(MemoryStore::new());
        let clock = tokenkeep::ManualClock::new();
        let listener = Arc::new(RecordingListener::default());
        let keeper = TokenKeeper::new(TokenKeeperOptions {
            store: Some(store.clone()),
            clock: Some(clock.clone()),
            listener: Some(listener.clone()),
            ..config(&fixture, "public-app")
        })
        .expect("builds");
        keeper
            .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
            .expect("set");
        clock.advance_secs(3_600);
        fixture
            .fault(json!({"status": status, "body": body, "content_type": "text/html"}))
            .await;
        let error = keeper.access_token().await.expect_err("refused");
        assert!(
            matches!(error, TokenKeepError::SessionExpired { .. }),
            "{status}: {error:?}"
        );
        assert!(error.to_string().contains("without saying why"), "{error}");
        assert!(error.to_string().contains(&format!("HTTP {status}")), "{error}");
        assert_eq!(keeper.state(), SessionState::SessionExpired);
        assert!(store.is_empty(), "the refused tokens are gone");
        let requests = fixture.refresh_requests().await;
        assert!(keeper.access_token().await.is_err());
        assert_eq!(
            fixture.refresh_requests().await,
            requests,
            "the dead token is not sent again"
        );
        assert!(tokenkeep::flush_listener_events(5_000));
        assert_eq!(listener.expired.lock().len(), 1);
    }
}
