//! SIGKILL with refresh-token rotation on: a worker killed after the server
//! rotated its refresh token but before the answer was durably stored leaves
//! a spent refresh token in the store. With the server's reuse grace period
//! on, the next process refreshes with it and the session lives on, on both
//! the encrypted file store and the SQLite store. (Without grace such kills
//! end sessions; the `kill_figures` bench measures how often.)

mod support;

use support::kill_rounds::{kill_rounds, rotating_fixture, KillFigures, StoreKind};

/// How many times the refreshing worker is killed, per store.
const KILLS: usize = 300;

/// The server's reuse grace period: far longer than any round.
const GRACE_SECS: u64 = 30;

fn assert_no_session_dies(kind: StoreKind) -> KillFigures {
    let server = rotating_fixture(GRACE_SECS);
    let figures = kill_rounds(&server, kind, KILLS);
    println!("with a {GRACE_SECS} s reuse grace period: {figures}");
    assert_eq!(figures.dead_sessions, 0, "{figures}");
    assert_eq!(figures.reuse_detected, 0, "{figures}");
    assert!(
        figures.answered_within_grace > 0,
        "some kills fell between the server's rotation and the save: {figures}"
    );
    figures
}

#[test]
fn with_reuse_grace_sigkill_during_rotation_never_ends_the_session_file_store() {
    assert_no_session_dies(StoreKind::File);
}

#[test]
fn with_reuse_grace_sigkill_during_rotation_never_ends_the_session_sqlite_store() {
    assert_no_session_dies(StoreKind::Sqlite);
}
