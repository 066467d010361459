//! What SIGKILL during refresh-token rotation costs: a worker refreshing in a
//! loop is killed at a random point, then a fresh worker refreshes with what
//! the store holds; a kill after the server rotated the refresh token but
//! before the answer was stored leaves a spent token behind, and a server
//! with reuse detection then ends the session. Prints, per store (encrypted
//! file, SQLite), the dead sessions without a reuse grace period and with a
//! 30 s one.
//!
//! A harness (not criterion). Run:
//! `cargo bench -p tokenkeep-store-worker --bench kill_figures`
//! (300 kills per store and setting). In test mode (`cargo test
//! --all-targets`, no `--bench` argument) it runs 10 kills of each, to
//! check it works.

#[path = "../tests/support/mod.rs"]
mod support;

use support::kill_rounds::{kill_rounds, rotating_fixture, StoreKind};

/// Kills per store and setting under `cargo bench`.
const BENCH_KILLS: usize = 300;
/// Kills per store and setting in test mode.
const TEST_MODE_KILLS: usize = 10;
/// The reuse grace period of the "with grace" runs.
const GRACE_SECS: u64 = 30;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let kills = if args.iter().any(|a| a == "--bench") {
        BENCH_KILLS
    } else {
        TEST_MODE_KILLS
    };
    for kind in [StoreKind::File, StoreKind::Sqlite] {
        let without = kill_rounds(&rotating_fixture(0), kind, kills);
        let with = kill_rounds(&rotating_fixture(GRACE_SECS), kind, kills);
        assert!((0.0..=1.0).contains(&without.dead_fraction()), "{without}");
        assert_eq!(with.dead_sessions, 0, "with a grace period: {with}");
        println!(
            "kill_figures: {kind}: {kills} kills, {} dead ({:.1} %) without grace; {} dead with a {GRACE_SECS} s grace ({} answered within it); {:.1} s + {:.1} s",
            without.dead_sessions,
            100.0 * without.dead_fraction(),
            with.dead_sessions,
            with.answered_within_grace,
            without.elapsed.as_secs_f64(),
            with.elapsed.as_secs_f64(),
        );
        println!("  without grace: {without}");
        println!("  with grace:    {with}");
    }
}
