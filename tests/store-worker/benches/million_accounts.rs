//! A million accounts in one store, read through one `AccountRegistry`
//! (issue 13's "Figures"): the time to write them through the public API
//! (a `TokenKeeper` per account, `set_token_response`: the store's lock,
//! save and unlock; [`WRITERS`] threads, no other batching), then the
//! p50/p99 of `AccountRegistry::access_token_blocking(account_id)` cold
//! (the account's first touch: the registry builds its keeper and loads the
//! record from the store) and hot (the keeper is in the registry's LRU), on
//! PostgreSQL (the core's test harness: a throwaway cluster on 127.0.0.1)
//! and on SQLite (a file in the temp directory).
//!
//! Then, per store, the keep-alive sweep's rate: [`SWEPT`] more accounts
//! signed in at the fixture server (real refresh tokens, expiring within
//! the sweep's window) among the million that are not due, swept by an
//! `AccountRegistry` (8 at once, no rate limit); next to it, the fixture
//! server's own maximum: a raw reqwest loop sending as many refresh_token
//! grants with the same concurrency. It prints both and their ratio; the
//! sweep must refresh every due account exactly once and no other.
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
    AccountRegistry, PostgresSettings, PostgresStore, SqliteStore, SweepOptions, TokenKeeper, TokenKeeperOptions,
    TokenStore,
};
use tokenkeep_fixture_server::RunningServer;

/// Accounts per store under `cargo bench`, and in test mode.
const BENCH_ACCOUNTS: usize = 1_000_000;
const TEST_MODE_ACCOUNTS: usize = 2_000;
/// Threads writing accounts.
const WRITERS: usize = 8;
/// Due accounts the sweep refreshes, under `cargo bench` and in test mode.
const SWEPT: usize = 10_000;
const TEST_MODE_SWEPT: usize = 200;
/// Refreshes at once, for the sweep and the raw loop alike.
const SWEEP_CONCURRENCY: usize = 32;
/// Accounts read cold, then hot (a spread sample; all of them in test mode).
const READ_SAMPLE: usize = 20_000;
/// The PostgreSQL store's connections (one per refresh of the sweep).
const PG_CONNECTIONS: i64 = SWEEP_CONCURRENCY as i64;

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
    println!("million_accounts ({mode}): {accounts} accounts per store, {WRITERS} writer threads");
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
    let swept = if bench { SWEPT } else { TEST_MODE_SWEPT };
    figures("postgres", postgres.clone().as_token_store(), &endpoint, accounts);

    let dir = StoreDir::new("million-accounts");
    std::fs::create_dir_all(&dir.0).expect("store directory");
    let sqlite = SqliteStore::open(dir.0.join("tokens.sqlite").to_string_lossy().into_owned(), key())
        .expect("SQLite store opens");
    figures("sqlite", sqlite.clone().as_token_store(), &endpoint, accounts);

    println!(
        "   {:<12} {:>10} {:>16} {:>18} {:>12}",
        "store", "due", "sweep /s", "raw grants /s", "sweep/raw"
    );
    let template = TokenKeeperOptions::new(endpoint.clone(), "public-app");
    let on_postgres = AccountRegistry::new_on_postgres(template.clone(), postgres, 100).expect("registry");
    sweep_rate("postgres", &server, &on_postgres, swept);
    let on_sqlite = AccountRegistry::new_on_sqlite(template, sqlite, 100).expect("registry");
    sweep_rate("sqlite", &server, &on_sqlite, swept);
}

/// Signs `due` more accounts in at the fixture server with refresh tokens
/// that expire in ten minutes, sweeps the registry's store for a one-hour
/// window, then times a raw reqwest loop of as many refresh_token grants
/// (fresh refresh tokens, the same concurrency); prints one row.
fn sweep_rate(name: &str, server: &RunningServer, registry: &AccountRegistry, due: usize) {
    let sign_in = || -> serde_json::Value {
        serde_json::from_str(&server.state().sign_in_tokens("public-app").expect("known client")).expect("json")
    };
    for i in 0..due {
        let mut tokens = sign_in();
        tokens["refresh_token_expires_in"] = serde_json::json!(600);
        registry
            .keeper(format!("due-{i:07}"))
            .expect("keeper")
            .set_token_response(tokens.to_string())
            .expect("stored");
    }
    let options = SweepOptions {
        max_concurrent_refreshes: SWEEP_CONCURRENCY as i32,
        max_refreshes_per_second: None,
        ..SweepOptions::within_secs(3_600)
    };
    let summary = registry.sweep_blocking(options, None).expect("sweep");
    assert_eq!(summary.due, due as i64, "only the due accounts are listed: {summary}");
    assert_eq!(summary.refreshed, due as i64, "every due account refreshed: {summary}");
    let sweep_per_s = due as f64 / (summary.elapsed_ms.max(1) as f64 / 1e3);

    let refresh_tokens: Vec<String> = (0..due)
        .map(|_| sign_in()["refresh_token"].as_str().expect("a refresh token").to_owned())
        .collect();
    let url = server.url("/token");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let raw = runtime.block_on(async move {
        let http = reqwest::Client::new();
        let slots = Arc::new(tokio::sync::Semaphore::new(SWEEP_CONCURRENCY));
        let started = Instant::now();
        let mut grants = tokio::task::JoinSet::new();
        for refresh_token in refresh_tokens {
            let permit = slots.clone().acquire_owned().await.expect("semaphore");
            let (http, url) = (http.clone(), url.clone());
            grants.spawn(async move {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.as_str()),
                    ("client_id", "public-app"),
                ];
                let answer = http.post(url).form(&form).send().await.expect("sent");
                assert!(answer.status().is_success(), "{}", answer.status());
                answer.bytes().await.expect("answer");
                drop(permit);
            });
        }
        while let Some(done) = grants.join_next().await {
            done.expect("grant task");
        }
        started.elapsed()
    });
    let raw_per_s = due as f64 / raw.as_secs_f64();
    println!(
        "   {:<12} {:>10} {:>16.0} {:>18.0} {:>12.2}",
        name,
        due,
        sweep_per_s,
        raw_per_s,
        sweep_per_s / raw_per_s
    );
}

fn account(i: usize) -> String {
    format!("user-{i:07}")
}

fn access_token(i: usize) -> String {
    format!("at-{i:07}")
}

/// Writes `accounts` accounts into `store`, then reads a sample cold and hot
/// through a registry; prints one table row.
fn figures(name: &str, store: Arc<dyn TokenStore>, endpoint: &str, accounts: usize) {
    let template = TokenKeeperOptions {
        store: Some(store),
        ..TokenKeeperOptions::new(endpoint.to_owned(), "public-app")
    };

    // Write, `writers` threads taking the next account from a shared counter.
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..WRITERS {
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
