//! Many keepers in one process (issue 13, item 1): whatever the number of
//! accounts, the process's file descriptors and threads stay bounded.
//!
//! Every keeper of a process shares one connection pool per kind of client
//! and one small runtime; OAuth endpoint requests to one origin are capped
//! (`http_client::MAX_REQUESTS_PER_ORIGIN`), so a burst of refreshes does
//! not open a socket per account, and so are refreshes on a shared store in
//! progress at once, so their blocking sections do not start a thread each. The figures (bytes per idle keeper) are
//! printed by `cargo run -p tokenkeep --release --example many_keepers`;
//! this test asserts the bounds, not timings.

mod support;

use std::sync::Arc;

use support::*;
use tokenkeep::{SqliteStore, TokenKeeper, TokenKeeperOptions};

/// Open file descriptors of this process (Linux: entries of `/proc/self/fd`;
/// the test needs Linux's `/proc`, and fails without it).
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Threads of this process (Linux: `Threads:` of `/proc/self/status`).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the process held before and after a burst of refreshes.
struct Burst {
    fds: (usize, usize),
    threads: (usize, usize),
}

impl Burst {
    /// At most 200 more descriptors and `new_threads` more threads after
    /// the burst than before it.
    fn assert_bounded(&self, stores: &str, new_threads: usize) {
        assert!(
            self.fds.1 < self.fds.0 + 200,
            "{stores}: {:?} descriptors before and after 1,000 refreshes",
            self.fds
        );
        assert!(
            self.threads.1 <= self.threads.0 + new_threads,
            "{stores}: {:?} threads before and after 1,000 refreshes",
            self.threads
        );
    }
}

/// Builds 1,000 keepers of 1,000 accounts with `options`, signs each in,
/// then refreshes all of them at once; checks every refresh gave new tokens.
fn thousand_refresh_at_once(fixture: &Fixture, options: impl Fn(String) -> TokenKeeperOptions) -> Burst {
    let sign_in = || {
        fixture
            .server
            .state()
            .sign_in_tokens("public-app")
            .expect("known client")
    };
    let fds_before = open_fds().expect("fds");
    let threads_before = threads().expect("threads");
    let keepers: Vec<Arc<TokenKeeper>> = (0..1_000)
        .map(|i| {
            let keeper = TokenKeeper::new(options(format!("user-{i}"))).expect("builds");
            keeper.set_token_response(sign_in()).expect("set");
            keeper
        })
        .collect();
    let before: Vec<String> = keepers
        .iter()
        .map(|k| k.tokens().expect("tokens").access_token())
        .collect();
    let results = futures::executor::block_on(futures::future::join_all(keepers.iter().map(|k| k.refresh())));
    let burst = Burst {
        fds: (fds_before, open_fds().expect("fds")),
        threads: (threads_before, threads().expect("threads")),
    };
    assert_eq!(results.len(), 1_000);
    for (result, old) in results.iter().zip(&before) {
        let tokens = result.as_ref().expect("every refresh succeeds");
        assert_ne!(&tokens.access_token(), old, "a new access token");
    }
    burst
}

/// 1,000 keepers of 1,000 accounts refresh at once against the fixture
/// server (which runs in this process: its accepted sockets count too),
/// first each on its own memory store, then all on one SQLite store.
/// Before the per-origin caps, this opened a socket per refresh on each
/// side (2,000 descriptors) and started hundreds of runtime threads (one
/// per refresh in a blocking section). One test, not two: the figures are
/// the whole process's, and tests of one binary run at the same time.
#[test]
fn a_thousand_keepers_refreshing_at_once_keep_descriptors_and_threads_bounded() {
    let fixture = Fixture::start();
    // Warm up what every keeper shares: the runtime and the HTTP client.
    let warm = TokenKeeper::new(config(&fixture, "public-app")).expect("builds");
    warm.set_token_response(
        fixture
            .server
            .state()
            .sign_in_tokens("public-app")
            .expect("known client"),
    )
    .expect("set");
    warm.refresh_blocking().expect("refreshes");

    let private = thousand_refresh_at_once(&fixture, |account| TokenKeeperOptions {
        account_id: account,
        ..config(&fixture, "public-app")
    });
    private.assert_bounded("memory stores", 4);

    let dir = TempDir::new("many-keepers");
    let store = SqliteStore::open(dir.path("tokens.sqlite"), vec![3; 32]).expect("opens");
    let shared = thousand_refresh_at_once(&fixture, |account| TokenKeeperOptions {
        account_id: account,
        store: Some(store.clone().as_token_store()),
        ..config(&fixture, "public-app")
    });
    // 32 refresh slots per token endpoint, so a few runtime threads more.
    shared.assert_bounded("one SQLite store", 40);
}
