//! Issue 10, cases 5, 6 and 11: token lifetimes that used to make tokenkeep
//! refresh on every call, send a refresh that could only fail, or answer
//! `refresh()` with the wrong error.

mod support;

use serde_json::{json, Value};
use support::*;
use tokenkeep::{SessionState, TokenKeepError, TokenKeeperOptions};

/// A real sign-in answer with `changes` applied.
async fn answer_with(fixture: &Fixture, changes: Value) -> String {
    let mut answer = fixture.sign_in_tokens("public-app").await;
    for (field, value) in changes.as_object().expect("object") {
        answer[field] = value.clone();
    }
    answer.to_string()
}

/// Case 5: `refresh_token_expires_in: 0` means the refresh token is dead.
/// The access token is served until it expires, no refresh is ever sent,
/// then the session ends with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_known_to_be_expired_is_never_sent() {
    let fixture = Fixture::start();
    let (keeper, clock, listener) = signed_in_keeper(&fixture).await;
    keeper
        .set_token_response(answer_with(&fixture, json!({"refresh_token_expires_in": 0})).await)
        .expect("set");
    let token = keeper.access_token().await.expect("served");
    let requests = fixture.token_requests().await;

    // Inside the refresh-ahead window, and with a caller wanting more time
    // than the token has: served, no refresh.
    clock.advance_secs(3_560);
    for _ in 0..20 {
        assert_eq!(keeper.access_token().await.expect("served"), token);
    }
    assert_eq!(keeper.valid_tokens(600).await.expect("served").access_token(), token);
    assert_eq!(keeper.state(), SessionState::Valid);

    // refresh() says why it will not, and changes nothing.
    let error = keeper.refresh().await.expect_err("nothing to refresh with");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert!(error.to_string().contains("refresh token expired"), "{error}");
    assert_eq!(keeper.state(), SessionState::Valid);
    assert_eq!(keeper.access_token().await.expect("still served"), token);

    // Past the access token's expiry: the session ends, without a request.
    clock.advance_secs(60);
    let error = keeper.access_token().await.expect_err("ended");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert!(error.to_string().contains("refresh token expired"), "{error}");
    assert_eq!(keeper.state(), SessionState::SessionExpired);
    assert_eq!(
        fixture.token_requests().await,
        requests,
        "no refresh that can only fail"
    );
    assert!(tokenkeep::flush_listener_events(5_000));
    let expired = listener.expired.lock();
    assert_eq!(expired.len(), 1);
    assert!(expired[0].contains("refresh token expired"), "{expired:?}");
}

/// Case 5, RingCentral's advice: a client that sends `refresh_token_ttl=0`
/// gets refresh tokens that die at once. After that refresh, tokenkeep
/// serves the new access token and never presents the dead refresh token.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_ttl_zero_is_honoured() {
    let fixture = Fixture::start();
    let config = TokenKeeperOptions {
        extra_token_params: [("refresh_token_ttl".to_owned(), "0".to_owned())].into(),
        ..config(&fixture, "public-app")
    };
    let (keeper, clock, _listener) = signed_in_keeper_for(&fixture, config, fast_policy()).await;
    clock.advance_secs(3_600);
    let refreshed = keeper.access_token().await.expect("one refresh");
    assert_eq!(fixture.refresh_requests().await, 1);
    let tokens = keeper.tokens().expect("tokens");
    assert_eq!(
        tokens.refresh_token_expires_at_unix_ms(),
        Some(tokens.received_at_unix_ms()),
        "the server said the new refresh token lives 0 s"
    );
    clock.advance_secs(3_000);
    assert_eq!(keeper.access_token().await.expect("served"), refreshed);
    clock.advance_secs(600);
    assert!(matches!(
        keeper.access_token().await,
        Err(TokenKeepError::SessionExpired { .. })
    ));
    assert_eq!(
        fixture.refresh_requests().await,
        1,
        "the dead refresh token was never sent"
    );
}

/// Case 6: `expires_in: 0` no longer refreshes (and rotates) on every call.
/// It is read as "no stated expiry": served until an API answers 401, which
/// refreshes once.
#[tokio::test(flavor = "multi_thread")]
async fn expires_in_zero_does_not_refresh_on_every_call() {
    let fixture = Fixture::start();
    let (keeper, clock, _listener) = signed_in_keeper(&fixture).await;
    keeper
        .set_token_response(answer_with(&fixture, json!({"expires_in": 0})).await)
        .expect("set");
    let token = keeper.access_token().await.expect("served");
    for _ in 0..100 {
        assert_eq!(keeper.access_token().await.expect("served"), token);
    }
    // Hours later (the refresh token lives a day): still no refresh.
    clock.advance_secs(12 * 3_600);
    assert_eq!(keeper.access_token().await.expect("served"), token);
    assert_eq!(fixture.refresh_requests().await, 0);
    // The API rejects it: one refresh, shared by every caller that saw the 401.
    let (a, b) = tokio::join!(
        keeper.refresh_if_rejected(token.clone()),
        keeper.refresh_if_rejected(token.clone())
    );
    assert_eq!(a.expect("a").access_token(), b.expect("b").access_token());
    assert_eq!(fixture.refresh_requests().await, 1);
}

/// Case 6: a refresh answer with `expires_in: 0` (or 1 s) does not start a
/// refresh loop: time alone refreshes at most once per second.
#[tokio::test(flavor = "multi_thread")]
async fn a_tiny_lifetime_refreshes_at_most_once_per_second() {
    let fixture = Fixture::start();
    let (keeper, clock, _listener) = signed_in_keeper(&fixture).await;
    fixture
        .client(json!({"client_id": "public-app", "access_ttl": 1}))
        .await;
    clock.advance_secs(3_600);
    keeper.access_token().await.expect("refreshed to a 1 s token");
    assert_eq!(fixture.refresh_requests().await, 1);
    for _ in 0..100 {
        keeper.access_token().await.expect("served");
        keeper.valid_tokens(60).await.expect("the newest token");
    }
    assert_eq!(
        fixture.refresh_requests().await,
        1,
        "no refresh within a second of the last"
    );
    clock.advance_ms(1_000);
    keeper.access_token().await.expect("refreshed");
    assert_eq!(fixture.refresh_requests().await, 2);
}

/// Case 11: `refresh()` without a refresh token says exactly that, and the
/// state does not change.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_without_a_refresh_token_says_so_and_changes_nothing() {
    let fixture = Fixture::start();
    let (keeper, _clock, listener) = signed_in_keeper(&fixture).await;
    keeper
        .set_tokens("at_only_0123456789".into(), None, Some(3_600), None, None)
        .expect("set");
    let error = keeper.refresh().await.expect_err("no refresh token");
    assert!(matches!(error, TokenKeepError::NotSignedIn { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("needs a refresh token"), "{text}");
    assert!(!text.contains("expired"), "{text}");
    assert_eq!(keeper.state(), SessionState::Valid);
    assert_eq!(keeper.access_token().await.expect("still served"), "at_only_0123456789");
    assert_eq!(fixture.refresh_requests().await, 0);
    assert!(tokenkeep::flush_listener_events(5_000));
    assert!(listener.expired.lock().is_empty());
}
