//! Issue 10, case 1: a store write that fails after the server rotated the
//! refresh token must not lose the session.
//!
//! Each test runs the same story on a real store (memory, encrypted file,
//! SQLite) behind [`FailingSaves`], which fails the next N saves like a full
//! disk: the refreshed tokens are kept in memory and served, the app hears
//! `stored: false` and a refresh failure saying why, `refresh()` reports
//! "held but not stored", a second refresh while the store still fails uses
//! the *new* refresh token (the older stored record is never adopted: that
//! would present a spent token and, with reuse detection, end the session),
//! and the tokens reach the store once it works again: from the next call,
//! from `flush()`, and from the keeper being dropped.

mod support;

use std::sync::Arc;

use support::*;
use tokenkeep::{
    ChangeReason, EncryptedFileStore, ManualClock, MemoryStore, SqliteStore, StorageErrorKind, TokenKeepError,
    TokenKeeper, TokenKeeperOptions, TokenStore,
};

const ACCOUNT: &str = "user-1";

fn keeper_on(
    fixture: &Fixture,
    store: Arc<dyn TokenStore>,
    clock: &Arc<ManualClock>,
    listener: &Arc<RecordingListener>,
) -> Arc<TokenKeeper> {
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        policy: fast_policy(),
        store: Some(store),
        clock: Some(clock.clone()),
        listener: Some(listener.clone()),
        ..config(fixture, "public-app")
    })
    .expect("builds")
}

/// The access token a new keeper on `store` loads: what is stored.
fn stored_access_token(fixture: &Fixture, store: Arc<dyn TokenStore>, clock: &Arc<ManualClock>) -> Option<String> {
    let probe = keeper_on(fixture, store, clock, &Arc::new(RecordingListener::default()));
    probe.tokens().map(|t| t.access_token())
}

async fn a_failed_save_after_rotation_loses_nothing(inner: Arc<dyn TokenStore>) {
    let fixture = Fixture::start();
    let store = FailingSaves::new(inner.clone());
    let clock = ManualClock::new();
    let listener = Arc::new(RecordingListener::default());
    let keeper = keeper_on(&fixture, store.clone(), &clock, &listener);
    keeper
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("signed in");
    let signed_in = keeper.tokens().expect("tokens").access_token();

    // The refresh succeeds at the server; storing its answer fails. (The
    // first save of a refresh writes the refresh-in-flight marker, the
    // second its answer: fail every save from here.)
    store.fail_next_saves(u32::MAX);
    clock.advance_secs(3_600);
    let first = keeper.access_token().await.expect("the refreshed token is served");
    assert_ne!(first, signed_in);
    assert!(keeper.has_unsaved_tokens());
    assert!(fixture.is_active(&first).await);
    assert!(tokenkeep::flush_listener_events(5_000));
    {
        let changed = listener.changed.lock();
        let last = changed.last().expect("a tokens-changed event");
        assert_eq!(last.reason, ChangeReason::Refreshed);
        assert!(!last.stored, "the event says the tokens are not stored");
    }
    assert!(
        listener
            .failed
            .lock()
            .iter()
            .any(|f| f.detail.contains("could not be stored") && f.transient),
        "a refresh failure says the save failed: {:?}",
        listener.failed.lock()
    );

    // refresh() reports that the tokens are held but not stored.
    let error = keeper.refresh().await.expect_err("the save fails again");
    assert!(
        matches!(&error, TokenKeepError::Storage { kind: StorageErrorKind::Io, detail } if detail.contains("held in memory")),
        "{error:?}"
    );
    let second = keeper.access_token().await.expect("served from memory");
    assert_ne!(second, first, "refresh() did refresh");

    // Again past expiry while the store still fails: the refresh uses the
    // newest refresh token from memory, not the spent one in the store.
    clock.advance_secs(3_600);
    let third = keeper.access_token().await.expect("refreshed with the newest token");
    assert_ne!(third, second);
    assert_eq!(
        stat(&fixture, "refresh_reuse_detected").await,
        0,
        "no spent token was presented"
    );
    assert!(fixture.is_active(&third).await, "the token family is alive");
    assert_eq!(
        stored_access_token(&fixture, inner.clone(), &clock).as_deref(),
        Some(&*signed_in)
    );

    // flush() says the store still fails; then the store recovers and the
    // next calls store the tokens in the background.
    assert!(matches!(keeper.flush(), Err(TokenKeepError::Storage { .. })));
    store.fail_next_saves(0);
    until("the next calls stored the unsaved tokens", || async {
        assert_eq!(
            keeper.access_token().await.expect("fresh"),
            third,
            "no refresh: the token is fresh"
        );
        !keeper.has_unsaved_tokens()
    })
    .await;
    assert_eq!(
        stored_access_token(&fixture, inner.clone(), &clock).as_deref(),
        Some(&*third)
    );
    assert!(tokenkeep::flush_listener_events(5_000));
    assert!(listener
        .changed
        .lock()
        .iter()
        .any(|c| c.reason == ChangeReason::Stored && c.stored));
    keeper.flush().expect("nothing pending");

    // flush() stores unsaved tokens.
    store.fail_next_saves(u32::MAX);
    clock.advance_secs(3_600);
    let unsaved = keeper.access_token().await.expect("refreshed");
    assert!(keeper.has_unsaved_tokens());
    store.fail_next_saves(0);
    keeper.flush().expect("stored");
    assert!(!keeper.has_unsaved_tokens());
    assert_eq!(stored_access_token(&fixture, inner.clone(), &clock), Some(unsaved));

    // So does dropping the keeper (off the async runtime: the drop may wait
    // for the store lock).
    store.fail_next_saves(u32::MAX);
    clock.advance_secs(3_600);
    let unsaved = keeper.access_token().await.expect("refreshed");
    assert!(keeper.has_unsaved_tokens());
    store.fail_next_saves(0);
    tokio::task::spawn_blocking(move || drop(keeper))
        .await
        .expect("dropped");
    // The session goes with its last handle, which a runtime task finishing
    // its work may hold a moment longer than the keeper.
    until("the dropped keeper stored its tokens", || async {
        stored_access_token(&fixture, inner.clone(), &clock).as_deref() == Some(&*unsaved)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_store() {
    a_failed_save_after_rotation_loses_nothing(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn encrypted_file_store() {
    let dir = TempDir::new("failing-file");
    let store = EncryptedFileStore::open(dir.path("tokens"), vec![7; 32]).expect("opens");
    a_failed_save_after_rotation_loses_nothing(store.as_token_store()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_store() {
    let dir = TempDir::new("failing-sqlite");
    let store = SqliteStore::open(dir.path("tokens.sqlite"), vec![7; 32]).expect("opens");
    a_failed_save_after_rotation_loses_nothing(store.as_token_store()).await;
}

/// Issue 10, case 7c: a refresh whose answer was never stored (here: the
/// save fails and the process "dies" without a chance to retry) leaves a
/// marker, and the next process that meets `invalid_grant` says precisely
/// what happened instead of a generic reuse error.
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_refresh_is_named_when_the_server_then_refuses_the_token() {
    let fixture = Fixture::start();
    let inner: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let store = FailingSaves::new(inner.clone());
    let clock = ManualClock::new();
    let listener = Arc::new(RecordingListener::default());
    let first = keeper_on(&fixture, store.clone(), &clock, &listener);
    first
        .set_token_response(fixture.sign_in_tokens("public-app").await.to_string())
        .expect("signed in");
    clock.advance_secs(3_600);
    // The refresh-in-flight marker is written (one save passes); storing the
    // answer fails; then the process dies: no retry, no Drop.
    store.fail_after(1, u32::MAX);
    first.access_token().await.expect("refreshed, unsaved");
    assert!(first.has_unsaved_tokens());
    std::mem::forget(first);

    let next = keeper_on(&fixture, inner.clone(), &clock, &Arc::new(RecordingListener::default()));
    let error = next
        .access_token()
        .await
        .expect_err("the stored token was rotated away");
    assert!(matches!(error, TokenKeepError::SessionExpired { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("a refresh of this account was sent earlier and its answer never stored"),
        "{error}"
    );
}
