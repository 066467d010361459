//! A million accounts in one store, read through one `AccountRegistry`
//! (issue 13's "Figures"): the time to write them through the public API
//! (a `TokenKeeper` per account, `set_token_response`: the store's lock,
//! save and unlock; [`WRITERS`] threads on PostgreSQL, one on SQLite, no
//! other batching), then the
//! p50/p99 of `AccountRegistry::access_token_blocking(account_id)` cold
//! (the account's first touch: the registry builds its keeper and loads the
//! record from the store) and hot (the keeper is in the registry's LRU), on
//! PostgreSQL (the core's test harness: a throwaway cluster on 127.0.0.1)
//! and on SQLite (a file in the temp directory).
//!
//! The keep-alive sweep's rate against the fixture server's own maximum
//! refresh rate belongs here too; it is added once the sweep
//! (`core/src/sweep/`) has merged: see `sweep_rate` below.
//!
//! A harness (not criterion). Run:
//! `cargo bench -p tokenkeep-store-worker --bench million_accounts`
//! (1,000,000 accounts per store; `TOKENKEEP_BENCH_ACCOUNTS=N` for another
//! count). In test mode (`cargo test --all-targets`, no `--bench` argument)
//! it writes 2,000 accounts per store and checks every read is the token
//! that was written.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../../../core/tests/support/postgres.rs"]
mod pg;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{fixture, key, StoreDir};
use tokenkeep::{
    AccountRegistry, PostgresSettings, PostgresStore, SqliteStore, TokenKeeper, TokenKeeperOptions, TokenStore,
};

/// Accounts per store under `cargo bench`, and in test mode.
const BENCH_ACCOUNTS: usize = 1_000_000;
const TEST_MODE_ACCOUNTS: usize = 2_000;
/// Threads writing accounts to PostgreSQL.
const WRITERS: usize = 8;
/// Threads writing accounts to SQLite: one. SQLite takes one writer at a
/// time anyway, and with 8 threads `set_token_response` fails with
/// "database is locked" (see `tests/sqlite_concurrent_writes.rs`, a known
/// bug marked there).
const SQLITE_WRITERS: usize = 1;
/// Accounts read cold, then hot (a spread sample; all of them in test mode).
const READ_SAMPLE: usize = 20_000;
/// The PostgreSQL store's connections (one per writer).
const PG_CONNECTIONS: i64 = WRITERS as i64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let accounts = match std::env::var("TOKENKEEP_BENCH_ACCOUNTS") {
        Ok(n) => n.parse().expect("TOKENKEEP_BENCH_ACCOUNTS is a count"),
        Err(_) if bench => BENCH_ACCOUNTS,
        Err(_) => TEST_MODE_ACCOUNTS,
    };
    let mode = if bench { "bench" } else { "test mode" };
    let server = fixture();
    let endpoint = server.url("/token");
    println!(
        "million_accounts ({mode}): {accounts} accounts per store; writer threads: postgres {WRITERS}, sqlite {SQLITE_WRITERS}"
    );
    println!(
        "   {:<12} {:>10} {:>12} {:>14} {:>13} {:>13} {:>12} {:>12}",
        "store", "accounts", "write s", "writes/s", "cold p50 ms", "cold p99 ms", "hot p50 us", "hot p99 us"
    );

    let database = pg::PgServer::shared();
    let postgres = PostgresStore::open(
        database.database(),
        key(),
        Some(PostgresSettings {
            max_connections: PG_CONNECTIONS,
            ..PostgresSettings::default()
        }),
    )
    .expect("PostgreSQL store opens");
    figures("postgres", postgres.as_token_store(), &endpoint, accounts, WRITERS);

    let dir = StoreDir::new("million-accounts");
    std::fs::create_dir_all(&dir.0).expect("store directory");
    let sqlite = SqliteStore::open(dir.0.join("tokens.sqlite").to_string_lossy().into_owned(), key())
        .expect("SQLite store opens");
    figures("sqlite", sqlite.as_token_store(), &endpoint, accounts, SQLITE_WRITERS);

    sweep_rate();
}

/// The sweep rate figure: the keep-alive sweep (`core/src/sweep/`) over
/// these accounts against the fixture server, next to the fixture server's
/// own maximum refresh rate (a raw refresh_token POST loop). Not measured
/// until the sweep has merged; it then takes the store `figures` filled.
fn sweep_rate() {
    println!("   sweep rate: not measured yet (the keep-alive sweep, core/src/sweep/, has not merged)");
}

fn account(i: usize) -> String {
    format!("user-{i:07}")
}

fn access_token(i: usize) -> String {
    format!("at-{i:07}")
}

/// Writes `accounts` accounts into `store`, then reads a sample cold and hot
/// through a registry; prints one table row.
fn figures(name: &str, store: Arc<dyn TokenStore>, endpoint: &str, accounts: usize, writers: usize) {
    let template = TokenKeeperOptions {
        store: Some(store),
        ..TokenKeeperOptions::new(endpoint.to_owned(), "public-app")
    };

    // Write, `writers` threads taking the next account from a shared counter.
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..writers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= accounts {
                    break;
                }
                let keeper = TokenKeeper::new(TokenKeeperOptions {
                    account_id: account(i),
                    ..template.clone()
                })
                .expect("keeper builds");
                keeper
                    .set_token_response(format!(
                        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":86400,"refresh_token":"rt-{i:07}"}}"#,
                        access_token(i)
                    ))
                    .expect("tokens stored");
            });
        }
    });
    let write = started.elapsed();

    // Read a spread sample: cold (first touch), then hot (in the LRU).
    let sample = accounts.min(READ_SAMPLE);
    let stride = spread_stride(accounts);
    let picks: Vec<usize> = (0..sample).map(|k| (k * stride) % accounts).collect();
    let registry = AccountRegistry::new(template, i64::try_from(sample).unwrap_or(i64::MAX)).expect("registry");
    let time_reads = || {
        let mut times: Vec<Duration> = picks
            .iter()
            .map(|&i| {
                let asked = Instant::now();
                let token = registry.access_token_blocking(account(i)).expect("a token");
                let took = asked.elapsed();
                assert_eq!(token, access_token(i), "the token written for {}", account(i));
                took
            })
            .collect();
        times.sort_unstable();
        times
    };
    let cold = time_reads();
    let hot = time_reads();
    assert_eq!(
        usize::try_from(registry.hot_sessions()).unwrap_or(0),
        sample,
        "every sampled account is hot"
    );
    let q = |times: &[Duration], q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "   {:<12} {:>10} {:>12.1} {:>14.0} {:>13.3} {:>13.3} {:>12.1} {:>12.1}",
        name,
        accounts,
        write.as_secs_f64(),
        accounts as f64 / write.as_secs_f64(),
        q(&cold, 0.5).as_secs_f64() * 1e3,
        q(&cold, 0.99).as_secs_f64() * 1e3,
        q(&hot, 0.5).as_secs_f64() * 1e6,
        q(&hot, 0.99).as_secs_f64() * 1e6,
    );
}

/// A stride coprime with `n`, near n / φ, so that `k * stride % n` visits
/// distinct accounts spread over the whole id range.
fn spread_stride(n: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let mut stride = ((n as f64) * 0.618_033_988_7) as usize | 1;
    while gcd(stride, n) != 1 {
        stride += 2;
    }
    stride.max(1)
}
