//! Logout revokes and forgets; the state machine as callers see it;
//! tokens persist through the store across sessions.

mod support;

use std::sync::Arc;

use serde_json::json;
use support::*;
use tokenkeep::{
    ChangeReason, MemoryStore, SessionState, TokenKeepError, TokenKeeper, TokenKeeperOptions, TokenRevocation,
};

#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_at_the_server_and_purges_the_store() {
    let fixture = Fixture::start();
    let store = Arc::new(MemoryStore::new());
    let listener = Arc::new(RecordingListener::default());
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        store: Some(store.clone()),
        listener: Some(listener.clone()),
        ..config(&fixture, "public-app")
    })
    .expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set");
    let tokens = keeper.tokens().expect("tokens");
    assert!(fixture.is_active(&tokens.access_token()).await);

    let outcome = keeper.logout().await.expect("logout");
    assert_eq!(outcome.refresh_token, TokenRevocation::Revoked);
    assert_eq!(outcome.access_token, TokenRevocation::Revoked);
    assert!(outcome.fully_revoked, "the server confirmed both revocations");
    assert_eq!(keeper.state(), SessionState::LoggedOut);
    assert!(keeper.tokens().is_none());
    assert!(store.is_empty());
    assert!(!fixture.is_active(&tokens.refresh_token().expect("rt")).await);
    assert!(
        !fixture.is_active(&tokens.access_token()).await,
        "revoking the refresh token revoked its access tokens"
    );
    assert_eq!(
        fixture.stats().await["revocations"],
        2,
        "the refresh token, then the access token"
    );
    let error = keeper.access_token().await.expect_err("logged out");
    assert!(matches!(error, TokenKeepError::NotSignedIn { .. }), "{error:?}");
    eventually("a LoggedOut event", || {
        listener
            .changed
            .lock()
            .iter()
            .any(|e| e.reason == ChangeReason::LoggedOut)
    });
}

/// Issue 11, case 10: a server that keeps the access token alive when its
/// refresh token is revoked (RFC 7009 §2.1 allows it): logout revokes the
/// access token too, so neither works afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_the_access_token_too_where_revoking_the_refresh_token_does_not() {
    let fixture = Fixture::start();
    fixture
        .client(json!({"client_id": "lenient-revoker", "refresh_revocation_keeps_access": true}))
        .await;
    let keeper = TokenKeeper::new(config(&fixture, "lenient-revoker")).expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("lenient-revoker").await.to_string())
        .expect("set");
    let tokens = keeper.tokens().expect("tokens");
    let outcome = keeper.logout().await.expect("logout");
    assert!(outcome.fully_revoked, "{outcome:?}");
    assert!(!fixture.is_active(&tokens.refresh_token().expect("rt")).await);
    assert!(
        !fixture.is_active(&tokens.access_token()).await,
        "the access token was revoked on its own"
    );
}

/// What the server could not confirm is reported per token; the local
/// logout happens anyway.
#[tokio::test(flavor = "multi_thread")]
async fn logout_reports_per_token_what_the_server_could_not_confirm() {
    let fixture = Fixture::start();
    let unreachable = {
        let other = Fixture::start();
        other.url("/revoke")
    };
    let store = Arc::new(MemoryStore::new());
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        policy: tokenkeep::RefreshPolicy {
            max_retries: 0,
            ..fast_policy()
        },
        store: Some(store.clone()),
        ..tokenkeep::TokenKeeperOptions {
            revocation_endpoint: Some(unreachable),
            ..config(&fixture, "public-app")
        }
    })
    .expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set");
    let outcome = keeper.logout().await.expect("logged out locally");
    assert!(!outcome.fully_revoked);
    for revocation in [&outcome.refresh_token, &outcome.access_token] {
        assert!(
            matches!(revocation, TokenRevocation::Failed { reason } if reason.contains("could not connect")),
            "{outcome:?}"
        );
    }
    assert_eq!(keeper.state(), SessionState::LoggedOut);
    assert!(store.is_empty());
    let again = keeper.logout().await.expect("a second logout");
    assert_eq!(again.refresh_token, TokenRevocation::NotSent);
    assert_eq!(again.access_token, TokenRevocation::NotSent);
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_without_a_revocation_endpoint_still_logs_out() {
    let fixture = Fixture::start();
    let config = tokenkeep::TokenKeeperOptions {
        revocation_endpoint: None,
        ..config(&fixture, "public-app")
    };
    let keeper = TokenKeeper::new(config).expect("builds");
    keeper
        .set_tokens("at".into(), Some("rt".into()), Some(60), None, None)
        .expect("set");
    let outcome = keeper.logout_blocking().expect("logout");
    assert!(!outcome.fully_revoked);
    assert_eq!(outcome.refresh_token, TokenRevocation::NotSent);
    assert_eq!(outcome.access_token, TokenRevocation::NotSent);
    assert_eq!(keeper.state(), SessionState::LoggedOut);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_follows_the_token_life() {
    let fixture = Fixture::start();
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        clock: Some(clock.clone()),
        ..config(&fixture, "public-app")
    })
    .expect("builds");
    assert_eq!(keeper.state(), SessionState::Empty);
    assert!(matches!(
        keeper.access_token().await,
        Err(TokenKeepError::NotSignedIn { .. })
    ));
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set");
    assert_eq!(keeper.state(), SessionState::Valid);
    clock.advance_secs(3_600 - 59);
    assert_eq!(keeper.state(), SessionState::RefreshDue);
    clock.advance_secs(55);
    assert_eq!(keeper.state(), SessionState::Expired);
    keeper.access_token().await.expect("refreshed");
    assert_eq!(keeper.state(), SessionState::Valid);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_session_on_the_same_store_picks_up_the_rotated_tokens() {
    let fixture = Fixture::start();
    let store = Arc::new(MemoryStore::new());
    let clock = tokenkeep::ManualClock::new();
    let build = || {
        TokenKeeper::new(TokenKeeperOptions {
            account_id: "user-42".into(),
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
    clock.advance_secs(3_600);
    let rotated = first.refresh().await.expect("refresh");
    drop(first);
    let second = build();
    assert_eq!(second.account_id(), "user-42");
    let loaded = second.tokens().expect("loaded from the store");
    assert_eq!(loaded.refresh_token(), rotated.refresh_token());
    assert_eq!(second.access_token().await.expect("token"), rotated.access_token());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_stored_record_is_a_storage_error_and_is_kept() {
    use tokenkeep::TokenStore;
    let fixture = Fixture::start();
    let store = Arc::new(MemoryStore::new());
    store
        .save("default".into(), b"{\"schema_version\":1,\"gen".to_vec())
        .expect("save");
    let error = TokenKeeper::new(TokenKeeperOptions {
        store: Some(store.clone()),
        ..config(&fixture, "public-app")
    })
    .expect_err("corrupt");
    assert!(matches!(error, TokenKeepError::Storage { .. }), "{error:?}");
    assert!(error.to_string().contains("corrupt"), "{error}");
    assert_eq!(store.len(), 1, "the record was not wiped");
}
