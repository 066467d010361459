//! A fleet of instances on one PostgreSQL store (issue 13's "Figures"):
//!
//! 1. **Expiries**: 8 worker processes × 32 threads share one account; its
//!    access token expires 50 times (every worker's manual clock jumps two
//!    hours, then all 256 callers ask at one instant). Prints the refresh
//!    requests the token endpoint saw per expiry (must be 1; the client
//!    rotates refresh tokens and the server has no reuse grace, so a second
//!    refresh would also end the session) and the time from that instant
//!    until each caller held a token: p50 and max per expiry.
//! 2. **SIGKILL of the lease holder mid-refresh**: a worker refreshing in a
//!    loop is killed at a random point, then a fresh worker refreshes.
//!    Prints the time from SIGKILL until the new worker has refreshed
//!    (process start-up included; when the dead worker held the lease, the
//!    lease, [`KILL_LEASE_MS`], has to run out first) and the sessions lost
//!    with the server's 30 s reuse grace (must be 0) and without it.
//! 3. **PostgreSQL stopped for [`BENCH_OUTAGE`]** (`pg_ctl stop -m fast`,
//!    then `start` on the same data directory and port): 4 processes × 8
//!    threads keep asking. In the outage's first half their tokens are
//!    valid (served from memory: must all succeed); in the second half the
//!    tokens expire (a refresh needs the store's lease: errors expected,
//!    `Transient`). Prints the errors by kind, the sessions lost (must be 0)
//!    and the time from the database's return until every caller is served
//!    a refreshed token again. Needs a cluster it owns, so it fails (does
//!    not skip) with `TOKENKEEP_TEST_POSTGRES_URL` set.
//!
//! The PostgreSQL server is the core's test harness
//! (`core/tests/support/postgres.rs`: a throwaway cluster on 127.0.0.1).
//! A harness (not criterion). Run:
//! `cargo bench -p tokenkeep-store-worker --bench fleet_figures`.
//! `cargo bench ... -- outage` (or `expiries`, `kills`) runs one figure.
//! In test mode (`cargo test --all-targets`, no `--bench` argument) it runs
//! 3 expiries, 4 kills per setting and a 2 s outage, and asserts the same
//! invariants.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../../../core/tests/support/postgres.rs"]
mod pg;

use std::time::{Duration, Instant};

use support::kill_rounds::{kill_rounds_on, rotating_fixture, store_signed_in, SharedStore, ROTATING_CLIENT};
use support::rounds::{RoundOutcome, RoundWorkers};
use support::{refresh_requests, reuse_counters};

/// Worker processes and threads per process of the expiry figure.
const PROCESSES: usize = 8;
const THREADS: usize = 32;
/// Expiries under `cargo bench`, and in test mode.
const BENCH_EXPIRIES: usize = 50;
const TEST_MODE_EXPIRIES: usize = 3;
/// How far each expiry moves the workers' clocks: past the fixture's 1 h
/// access tokens, well within its 24 h refresh tokens.
const EXPIRY_JUMP_SECS: i64 = 2 * 3600;
/// From sending a round to its start instant (the workers start their
/// threads meanwhile; not part of any figure).
const LEAD_MS: i64 = 300;

/// Kills per reuse-grace setting under `cargo bench`, and in test mode.
const BENCH_KILLS: usize = 60;
const TEST_MODE_KILLS: usize = 4;
/// The PostgreSQL lease of the kill figure's workers (short, so that the
/// figure takes minutes; the default is 30 s).
const KILL_LEASE_MS: i64 = 1_000;
/// The reuse grace period of the "with grace" kill runs.
const GRACE_SECS: u64 = 30;

/// The outage, under `cargo bench` and in test mode.
const BENCH_OUTAGE: Duration = Duration::from_secs(10);
const TEST_MODE_OUTAGE: Duration = Duration::from_secs(2);
/// Processes and threads per process of the outage figure.
const OUTAGE_PROCESSES: usize = 4;
const OUTAGE_THREADS: usize = 8;
/// Lead of the outage figure's rounds (short: rounds follow each other).
const OUTAGE_LEAD_MS: i64 = 50;
/// The longest the fleet may take to serve everyone after the database is back.
const MAX_RECOVERY: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let mode = if bench { "bench" } else { "test mode" };
    // `cargo bench ... -- outage` runs only the figures whose name it names.
    let names: Vec<&String> = args.iter().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| names.is_empty() || names.iter().any(|n| name.contains(n.as_str()));
    println!("fleet_figures ({mode}): PostgreSQL from core/tests/support/postgres.rs");

    if wanted("expiries") {
        let started = Instant::now();
        expiries(if bench { BENCH_EXPIRIES } else { TEST_MODE_EXPIRIES });
        println!("  ({:.1} s)\n", started.elapsed().as_secs_f64());
    }
    if wanted("kills") {
        let started = Instant::now();
        kills(if bench { BENCH_KILLS } else { TEST_MODE_KILLS });
        println!("  ({:.1} s)\n", started.elapsed().as_secs_f64());
    }
    if wanted("outage") {
        let started = Instant::now();
        outage(if bench { BENCH_OUTAGE } else { TEST_MODE_OUTAGE });
        println!("  ({:.1} s)", started.elapsed().as_secs_f64());
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The value at quantile `q` of sorted `values`.
fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get(((last as f64) * q).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// Figure 1: refresh requests per expiry and time until every caller is served.
fn expiries(count: usize) {
    let database = pg::PgServer::shared();
    let server = rotating_fixture(0);
    let endpoint = server.url("/token");
    let store = SharedStore::postgres(database.database(), 30_000);
    store_signed_in(&server, &store, ROTATING_CLIENT);
    let mut fleet = RoundWorkers::start(PROCESSES, THREADS, &store, &endpoint, ROTATING_CLIENT);
    let (_, reuse_before) = reuse_counters(&server);
    let mut p50s = Vec::new();
    let mut maxes = Vec::new();
    let mut all_callers = Vec::new();
    for expiry in 1..=count {
        let before = refresh_requests(&server);
        let mut outcome = fleet.round(EXPIRY_JUMP_SECS, LEAD_MS);
        let requests = refresh_requests(&server) - before;
        assert!(outcome.errors.is_empty(), "expiry {expiry}: {:?}", outcome.errors);
        assert_eq!(outcome.served_us.len(), fleet.callers, "expiry {expiry}");
        assert_eq!(requests, 1, "expiry {expiry}: one refresh request per expiry");
        outcome.served_us.sort_unstable();
        p50s.push(quantile(&outcome.served_us, 0.5));
        maxes.push(outcome.max_us());
        all_callers.extend_from_slice(&outcome.served_us);
    }
    let (_, reuse_after) = reuse_counters(&server);
    assert_eq!(reuse_after - reuse_before, 0, "no refresh token was used twice");
    p50s.sort_unstable();
    maxes.sort_unstable();
    all_callers.sort_unstable();
    println!(
        "1. {PROCESSES} processes x {THREADS} threads on one PostgreSQL account, {count} expiries \
         (rotating refresh tokens, no reuse grace)"
    );
    println!(
        "   refresh requests per expiry: 1 in every expiry ({count} in all); refresh-token reuse seen by the server: 0"
    );
    println!("   time from the expiry instant until a caller holds a token (ms):");
    println!("   {:<36} {:>8} {:>8} {:>8}", "", "p50", "p90", "max");
    println!(
        "   {:<36} {:>8.1} {:>8.1} {:>8.1}",
        "per expiry: median caller",
        ms(quantile(&p50s, 0.5)),
        ms(quantile(&p50s, 0.9)),
        ms(quantile(&p50s, 1.0))
    );
    println!(
        "   {:<36} {:>8.1} {:>8.1} {:>8.1}",
        "per expiry: last caller (all served)",
        ms(quantile(&maxes, 0.5)),
        ms(quantile(&maxes, 0.9)),
        ms(quantile(&maxes, 1.0))
    );
    println!(
        "   {:<36} {:>8.1} {:>8.1} {:>8.1}",
        format!("all {} callers", all_callers.len()),
        ms(quantile(&all_callers, 0.5)),
        ms(quantile(&all_callers, 0.9)),
        ms(quantile(&all_callers, 1.0))
    );
}

/// Figure 2: SIGKILL of the lease holder mid-refresh.
fn kills(count: usize) {
    let database = pg::PgServer::shared();
    println!(
        "2. SIGKILL of a refreshing worker, then a fresh worker refreshes; PostgreSQL lease {KILL_LEASE_MS} ms, {count} kills per setting"
    );
    println!(
        "   {:<22} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>14}",
        "reuse grace", "kills", "lost", "p50 ms", "p90 ms", "max ms", "min ms", "waited lease"
    );
    for grace in [GRACE_SECS, 0] {
        let server = rotating_fixture(grace);
        let store = SharedStore::postgres(database.database(), KILL_LEASE_MS);
        let figures = kill_rounds_on(&server, &store, count);
        let lease = Duration::from_millis(KILL_LEASE_MS as u64);
        // A takeover that took more than half a lease waited out a dead holder's lease.
        let waited = figures.takeovers.iter().filter(|t| **t >= lease / 2).count();
        println!(
            "   {:<22} {:>6} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>14}",
            if grace > 0 {
                format!("{grace} s")
            } else {
                "none".to_owned()
            },
            figures.kills,
            figures.dead_sessions,
            figures.takeover(0.5).as_secs_f64() * 1000.0,
            figures.takeover(0.9).as_secs_f64() * 1000.0,
            figures.takeover(1.0).as_secs_f64() * 1000.0,
            figures.takeover(0.0).as_secs_f64() * 1000.0,
            format!("{waited} of {}", figures.kills),
        );
        if grace > 0 {
            assert_eq!(
                figures.dead_sessions, 0,
                "with a reuse grace no session is lost: {figures}"
            );
            assert_eq!(figures.reuse_detected, 0, "{figures}");
        }
        // The lease runs out: nobody waits much longer than one lease (plus
        // process start-up and the refresh itself).
        assert!(
            figures.takeover(1.0) < lease + Duration::from_secs(10),
            "a takeover took {:?} with a {KILL_LEASE_MS} ms lease: {figures}",
            figures.takeover(1.0)
        );
    }
    println!(
        "   (time: SIGKILL to the next worker's refreshed tokens, its process start-up included; \"waited lease\": takeovers over half the lease)"
    );
}

/// Figure 3: PostgreSQL stopped during a run.
fn outage(length: Duration) {
    let database = pg::PgServer::own_for("the outage figure (PostgreSQL stopped during a run)");
    let server = rotating_fixture(0);
    let endpoint = server.url("/token");
    let store = SharedStore::postgres(database.database(), 30_000);
    store_signed_in(&server, &store, ROTATING_CLIENT);
    let mut fleet = RoundWorkers::start(OUTAGE_PROCESSES, OUTAGE_THREADS, &store, &endpoint, ROTATING_CLIENT);
    let (_, reuse_before) = reuse_counters(&server);
    let mut served_from_memory = 0;
    let mut errors_from_memory = 0;
    let mut expiry_rounds_in_outage = 0;
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    fn tally(errors: &mut std::collections::BTreeMap<String, usize>, outcome: &RoundOutcome) {
        for (kind, n) in &outcome.errors {
            *errors.entry(kind.clone()).or_default() += n;
        }
    }

    // Before: an expiry refreshes through the store.
    let before = fleet.round(EXPIRY_JUMP_SECS, OUTAGE_LEAD_MS);
    assert_eq!(before.failed(), 0, "before the outage: {:?}", before.errors);

    database.stop();
    let stopped = Instant::now();
    // First half: tokens valid, served from memory.
    while stopped.elapsed() < length / 2 {
        let outcome = fleet.round(0, OUTAGE_LEAD_MS);
        served_from_memory += outcome.served_us.len();
        errors_from_memory += outcome.failed();
        tally(&mut errors, &outcome);
    }
    // Second half: the tokens expire (one clock jump); every round asks
    // again, and refreshing needs the store. (The clocks do not jump again
    // while no refresh succeeds: jump after jump would outrun the refresh
    // token's own 24 h lifetime.)
    let mut jump = EXPIRY_JUMP_SECS;
    while stopped.elapsed() < length {
        let outcome = fleet.round(std::mem::take(&mut jump), OUTAGE_LEAD_MS);
        expiry_rounds_in_outage += 1;
        tally(&mut errors, &outcome);
    }
    let outage_taken = stopped.elapsed();
    database.start();
    let back_us = support::now_ms() as u64 * 1000;
    let back = Instant::now();

    // After: the same expired tokens asked for until every caller is served.
    let mut rounds_to_recover = 0;
    let recovery_us = loop {
        assert!(
            back.elapsed() < MAX_RECOVERY,
            "the fleet did not recover within {MAX_RECOVERY:?}: {errors:?}"
        );
        let outcome = fleet.round(std::mem::take(&mut jump), OUTAGE_LEAD_MS);
        rounds_to_recover += 1;
        tally(&mut errors, &outcome);
        if outcome.failed() == 0 && outcome.served_us.len() == fleet.callers {
            break (outcome.start_at_us + outcome.max_us()).saturating_sub(back_us);
        }
    };
    // And a few more expiries, each served, as proof that the session lives.
    for _ in 0..3 {
        let outcome = fleet.round(EXPIRY_JUMP_SECS, OUTAGE_LEAD_MS);
        tally(&mut errors, &outcome);
        assert_eq!(outcome.failed(), 0, "after recovery: {:?}", outcome.errors);
    }
    let (_, reuse_after) = reuse_counters(&server);
    let lost = errors.get("SessionExpired").copied().unwrap_or(0) + (reuse_after - reuse_before) as usize;

    println!(
        "3. PostgreSQL stopped (pg_ctl stop -m fast) for {:.1} s, then started on the same data directory and port; \
         {OUTAGE_PROCESSES} processes x {OUTAGE_THREADS} threads, rotating refresh tokens, no reuse grace",
        outage_taken.as_secs_f64()
    );
    println!("   {:<58} {:>12}", "figure", "value");
    println!("   {:<58} {:>12}", "sessions lost", lost);
    println!(
        "   {:<58} {:>12}",
        "calls with valid tokens served from memory during the outage",
        format!("{served_from_memory} of {}", served_from_memory + errors_from_memory)
    );
    println!(
        "   {:<58} {:>12}",
        "rounds on expired tokens during the outage", expiry_rounds_in_outage
    );
    for (kind, n) in &errors {
        println!("   {:<58} {:>12}", format!("errors seen: {kind}"), n);
    }
    if errors.is_empty() {
        println!("   {:<58} {:>12}", "errors seen", 0);
    }
    println!(
        "   {:<58} {:>12}",
        "recovery: database back -> every caller served (ms)",
        format!("{:.1}", ms(recovery_us))
    );
    println!(
        "   {:<58} {:>12}",
        "rounds after the database was back until all served", rounds_to_recover
    );

    assert_eq!(lost, 0, "no session is lost to an outage");
    assert_eq!(
        errors_from_memory, 0,
        "valid tokens are served from memory while the database is away"
    );
    let unexpected: Vec<_> = errors.keys().filter(|k| k.as_str() != "Transient").collect();
    assert!(unexpected.is_empty(), "only Transient errors: {errors:?}");
}
