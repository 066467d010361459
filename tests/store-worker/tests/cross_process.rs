//! Several processes on one encrypted file store: one refresh for all of
//! them, locks that die with their holder, and records that survive SIGKILL
//! at any moment.

mod support;

use std::time::Duration;

use support::*;
use tokenkeep::{SqliteStore, StoreError, TokenKeeper, TokenKeeperOptions};

#[test]
fn sixteen_processes_on_an_expired_token_make_one_refresh_request() {
    let server = fixture();
    let dir = StoreDir::new("sixteen");
    store_expired_tokens(&server, &dir, "public-app");
    let before = refresh_requests(&server);
    let (path, endpoint) = (dir.path(), server.url("/token"));
    let workers: Vec<_> = (0..16)
        .map(|_| worker(&["access-token", &path, KEY_HEX, &endpoint, "public-app"]))
        .collect();
    let mut fingerprints = Vec::new();
    for child in workers {
        let output = child.wait_with_output();
        assert!(
            output.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        fingerprints.push(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    assert_eq!(
        refresh_requests(&server) - before,
        1,
        "exactly one refresh request for 16 processes"
    );
    assert!(
        fingerprints.windows(2).all(|w| w[0] == w[1]),
        "every process got the same token: {fingerprints:?}"
    );
}

#[test]
fn a_lock_held_by_a_killed_process_is_released() {
    let dir = StoreDir::new("dead-holder");
    let store = dir.store();
    let mut holder = worker(&["hold-lock", &dir.path(), KEY_HEX, ACCOUNT]);
    assert_eq!(first_line(&mut holder), "locked");
    let error = store.lock(ACCOUNT.into(), 200).expect_err("held by the other process");
    assert!(matches!(error, StoreError::LockTimeout { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("waited") && message.contains(" ms"),
        "the message says how long it waited: {message}"
    );
    holder.kill();
    store
        .lock(ACCOUNT.into(), 5_000)
        .expect("the kernel released the dead holder's lock");
    store.unlock(ACCOUNT.into()).expect("unlock");
}

/// Issue 13, item 10: the SQLite store's locks (lock files that exist only
/// while held) die with a holder killed by SIGKILL too, and the file it
/// leaves behind is taken over, then removed, by the next locker.
#[test]
fn a_sqlite_lock_held_by_a_killed_process_is_released() {
    let dir = StoreDir::new("dead-sqlite-holder");
    let database = dir.0.join("tokens.sqlite").to_string_lossy().into_owned();
    let store = SqliteStore::open(database.clone(), key())
        .expect("opens")
        .as_token_store();
    let mut holder = worker(&["hold-lock", "--store", "sqlite", &database, KEY_HEX, ACCOUNT]);
    assert_eq!(first_line(&mut holder), "locked");
    let error = store.lock(ACCOUNT.into(), 200).expect_err("held by the other process");
    assert!(matches!(error, StoreError::LockTimeout { .. }), "{error:?}");
    holder.kill();
    store
        .lock(ACCOUNT.into(), 5_000)
        .expect("the kernel released the dead holder's lock");
    store.unlock(ACCOUNT.into()).expect("unlock");
    let locks = dir.0.join("tokens.sqlite.locks");
    let left = std::fs::read_dir(&locks).expect("the lock directory").count();
    assert_eq!(left, 0, "the dead holder's lock file was removed by the next holder");
}

/// How many times the refreshing worker is killed at least.
const KILLS: usize = 300;
/// Refreshes that must have reached the server before the kills stop, so
/// that many kills land inside a refresh however loaded the machine is (a
/// loaded machine starts the worker late and needs more rounds).
const MIN_REFRESHES: u64 = 150;
/// The bound on rounds when refreshes do not reach the server at all.
const MAX_KILLS: usize = 3_000;

#[test]
fn sigkill_at_random_points_never_tears_the_stored_record() {
    // A client without rotation, so a kill after the server answered but
    // before the save does not burn the session: the test is about the file.
    let server = fixture();
    let dir = StoreDir::new("sigkill");
    store_expired_tokens(&server, &dir, STEADY_CLIENT);
    let (path, endpoint) = (dir.path(), server.url("/token"));
    let mut last_generation_token = String::new();
    let mut round = 0;
    while round < KILLS || (round < MAX_KILLS && refresh_requests(&server) < MIN_REFRESHES) {
        round += 1;
        let mut child = worker(&["refresh-loop", &path, KEY_HEX, &endpoint, STEADY_CLIENT]);
        assert_eq!(first_line(&mut child), "ready", "round {round}");
        std::thread::sleep(Duration::from_micros(rand::random::<u64>() % 20_000));
        child.kill();

        // The store opens, decrypts and holds a whole token set the server issued.
        let keeper = TokenKeeper::new(TokenKeeperOptions {
            account_id: ACCOUNT.into(),
            store: Some(dir.store()),
            ..TokenKeeperOptions::new(endpoint.clone(), STEADY_CLIENT)
        })
        .unwrap_or_else(|e| panic!("round {round}: the store did not open after SIGKILL: {e}"));
        let tokens = keeper
            .tokens()
            .unwrap_or_else(|| panic!("round {round}: the record is gone"));
        assert!(tokens.has_refresh_token(), "round {round}: no refresh token");
        assert!(
            is_active(&server, &tokens.access_token()),
            "round {round}: not a token the server issued"
        );
        last_generation_token = tokens.access_token();
    }
    assert!(!last_generation_token.is_empty());
    let refreshes = refresh_requests(&server);
    println!("sigkill: {round} kills, {refreshes} refreshes completed or interrupted at the server, store intact after every kill");
    // A refresh is two fsynced writes (the refresh-in-flight marker, then
    // the answer) around a request: with this many refreshes started, many
    // kills landed inside one. (Typically 300–700 refreshes for 300 kills.)
    assert!(
        refreshes >= MIN_REFRESHES,
        "the worker was refreshing when killed ({refreshes} refreshes in {round} kills)"
    );
}
