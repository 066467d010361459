//! Many keepers in one process (issue 13, item 1): whatever the number of
//! accounts, the process's file descriptors and threads stay bounded.
//!
//! Every keeper of a process shares one connection pool per kind of client
//! and one small runtime; OAuth endpoint requests to one origin are capped
//! (`http_client::MAX_REQUESTS_PER_ORIGIN`), so a burst of refreshes does
//! not open a socket per account. The figures (bytes per idle keeper) are
//! printed by `cargo run -p tokenkeep --release --example many_keepers`;
//! this test asserts the bounds, not timings.

mod support;

use std::sync::Arc;

use support::*;
use tokenkeep::{TokenKeeper, TokenKeeperOptions};

/// Open file descriptors of this process (Linux: entries of `/proc/self/fd`).
fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Threads of this process (Linux: `Threads:` of `/proc/self/status`).
fn threads() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Threads:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// 1,000 keepers of 1,000 accounts refresh at once against the fixture
/// server (which runs in this process: its accepted sockets count too).
/// Before the per-origin cap, this opened a socket per refresh on each side
/// (2,000 descriptors) and started hundreds of runtime threads.
#[test]
fn a_thousand_keepers_refreshing_at_once_keep_descriptors_and_threads_bounded() {
    let (Some(_), Some(_)) = (open_fds(), threads()) else {
        eprintln!("no /proc on this platform: nothing to measure");
        return;
    };
    let fixture = Fixture::start();
    let options = |account: String| TokenKeeperOptions {
        account_id: account,
        ..config(&fixture, "public-app")
    };
    let sign_in = || {
        fixture
            .server
            .state()
            .sign_in_tokens("public-app")
            .expect("known client")
    };

    // Warm up what every keeper shares: the runtime and the HTTP client.
    let warm = TokenKeeper::new(options("warm-up".into())).expect("builds");
    warm.set_token_response(sign_in()).expect("set");
    warm.refresh_blocking().expect("refreshes");
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
    let fds_after = open_fds().expect("fds");
    let threads_after = threads().expect("threads");

    assert_eq!(results.len(), 1_000);
    for (result, old) in results.iter().zip(&before) {
        let tokens = result.as_ref().expect("every refresh succeeds");
        assert_ne!(&tokens.access_token(), old, "a new access token");
    }
    assert!(
        fds_after < fds_before + 200,
        "{fds_before} descriptors before, {fds_after} after 1,000 refreshes"
    );
    assert!(
        threads_after <= threads_before + 4,
        "{threads_before} threads before, {threads_after} after 1,000 refreshes"
    );
}
