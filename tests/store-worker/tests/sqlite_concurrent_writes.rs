//! KNOWN BUG (found by the `million_accounts` bench, not fixed here: the
//! SQLite store belongs to another change in flight). Several threads of one
//! process handing tokens for *different* accounts to one `SqliteStore`
//! through the public API (`TokenKeeper::set_token_response`) make some of
//! them fail with `Storage { kind: Io, .. "database is locked" }`, where a
//! backend expects them to wait their turn (SQLite's busy timeout) and
//! succeed. Seen in a release build with 8 writer threads on the 3rd
//! account; the debug build hits it less often.
//!
//! Ignored so the suite stays green; run it with
//! `cargo test -p tokenkeep-store-worker --test sqlite_concurrent_writes -- --ignored`
//! (add `--release` to see it fail reliably).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use support::{fixture, key, StoreDir};
use tokenkeep::{SqliteStore, TokenKeeper, TokenKeeperOptions};

#[test]
#[ignore = "KNOWN BUG: concurrent set_token_response on one SqliteStore fails with `database is locked`"]
fn eight_threads_storing_different_accounts_in_one_sqlite_store_all_succeed() {
    let server = fixture();
    let dir = StoreDir::new("sqlite-concurrent-writes");
    std::fs::create_dir_all(&dir.0).expect("store directory");
    let store = SqliteStore::open(dir.0.join("tokens.sqlite").to_string_lossy().into_owned(), key())
        .expect("opens")
        .as_token_store();
    let template = TokenKeeperOptions {
        store: Some(store),
        ..TokenKeeperOptions::new(server.url("/token"), "public-app")
    };
    let next = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 4_000 {
                    break;
                }
                let stored = TokenKeeper::new(TokenKeeperOptions {
                    account_id: format!("user-{i}"),
                    ..template.clone()
                })
                .expect("keeper builds")
                .set_token_response(format!(
                    r#"{{"access_token":"at-{i}","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-{i}"}}"#
                ));
                if let Err(e) = stored {
                    if failures.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("first failure, account user-{i}: {e:?}");
                    }
                }
            });
        }
    });
    assert_eq!(failures.load(Ordering::Relaxed), 0, "stores that failed");
}
