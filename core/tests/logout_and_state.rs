//! Logout revokes and forgets; the state machine as callers see it;
//! tokens persist through the store across sessions.

mod support;

use std::sync::Arc;

use support::*;
use tokenkeep::{ChangeReason, MemoryStore, SessionState, TokenKeepError, TokenKeeperBuilder};

#[tokio::test(flavor = "multi_thread")]
async fn logout_revokes_at_the_server_and_purges_the_store() {
    let fixture = Fixture::start();
    let store = Arc::new(MemoryStore::new());
    let listener = Arc::new(RecordingListener::default());
    let keeper = TokenKeeperBuilder::new(config(&fixture, "public-app"))
        .store(store.clone())
        .listener(listener.clone())
        .build()
        .expect("builds");
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("set");
    let tokens = keeper.tokens().expect("tokens");
    assert!(fixture.is_active(&tokens.access_token()).await);

    assert!(
        keeper.logout().await.expect("logout"),
        "the server confirmed the revocation"
    );
    assert_eq!(keeper.state(), SessionState::LoggedOut);
    assert!(keeper.tokens().is_none());
    assert!(store.is_empty());
    assert!(!fixture.is_active(&tokens.refresh_token().expect("rt")).await);
    assert!(
        !fixture.is_active(&tokens.access_token()).await,
        "revoking the refresh token revoked its access tokens"
    );
    assert_eq!(fixture.stats().await["revocations"], 1);
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

#[tokio::test(flavor = "multi_thread")]
async fn logout_without_a_revocation_endpoint_still_logs_out() {
    let fixture = Fixture::start();
    let config = tokenkeep::ClientConfig {
        revocation_endpoint: None,
        ..config(&fixture, "public-app")
    };
    let keeper = TokenKeeperBuilder::new(config).build().expect("builds");
    keeper
        .set_tokens("at".into(), Some("rt".into()), Some(60), None)
        .expect("set");
    assert!(!keeper.logout_blocking().expect("logout"));
    assert_eq!(keeper.state(), SessionState::LoggedOut);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_follows_the_token_life() {
    let fixture = Fixture::start();
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeperBuilder::new(config(&fixture, "public-app"))
        .manual_clock(clock.clone())
        .build()
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
        TokenKeeperBuilder::new(config(&fixture, "public-app"))
            .account_id("user-42".into())
            .store(store.clone())
            .manual_clock(clock.clone())
            .build()
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
    let error = TokenKeeperBuilder::new(config(&fixture, "public-app"))
        .store(store.clone())
        .build()
        .expect_err("corrupt");
    assert!(matches!(error, TokenKeepError::Storage { .. }), "{error:?}");
    assert!(error.to_string().contains("corrupt"), "{error}");
    assert_eq!(store.len(), 1, "the record was not wiped");
}
