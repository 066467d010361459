//! What many accounts cost in one process: N idle keepers against one token
//! endpoint, then a few hundred of them refreshing at once.
//!
//! A backend holds a `TokenKeeper` per account. This example builds `N` of
//! them (default 100,000) against the fixture server, hands each a token
//! set, and prints what the process holds: open file descriptors (entries
//! of `/proc/self/fd`), threads (`Threads:` of `/proc/self/status`) and
//! resident memory (`VmRSS`), before and after. It then makes `--refreshing`
//! of them (default 300) refresh at once against the server and prints the
//! same figures again: the keepers share one connection pool and one small
//! runtime, so neither descriptors nor threads grow with `N`.
//!
//! The baseline is what the same data costs without tokenkeep: `N` plain
//! structs holding the same strings (account id, access token, refresh
//! token) and the expiry, built first and kept alive so the two
//! measurements do not reuse each other's freed memory. The ratio says how
//! much a keeper adds to the bare data it has to keep anyway.
//!
//! Linux only for the figures (they come from `/proc`); elsewhere they
//! print as unknown. Nothing is asserted; the test
//! `core/tests/many_keepers.rs` asserts the bound on descriptors.
//!
//! ```text
//! cargo run -p tokenkeep --release --example many_keepers -- --keepers 100000
//! cargo run -p tokenkeep --release --example many_keepers -- --keepers 1000 --refreshing 500
//! cargo run -p tokenkeep --release --example many_keepers -- --keepers 1000 --sqlite /tmp/many.sqlite
//! ```
//!
//! With `--sqlite PATH` every keeper uses one `SqliteStore` there (a fresh
//! database: delete it between runs) instead of a private memory store; its
//! lock and each save run in a blocking section, so a refresh burst may
//! start extra runtime threads (they exit after 10 s idle).
//!
//! The fixture server runs in this process, on one thread of its own
//! (counted in the thread figure; its sockets in the descriptor figure).

use std::sync::Arc;
use std::time::Instant;

use tokenkeep::{SqliteStore, TokenKeeper, TokenKeeperOptions, TokenStore};

/// Account ids, tokens and expiry, as an app would keep them by hand.
struct PlainAccount {
    account: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at_ms: i64,
}

/// What the process holds at one moment.
#[derive(Clone, Copy)]
struct Figures {
    fds: Option<usize>,
    threads: Option<usize>,
    rss_kib: Option<u64>,
}

impl Figures {
    fn now() -> Self {
        Figures {
            fds: std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count()),
            threads: status_field("Threads:"),
            rss_kib: status_field("VmRSS:").map(|k| k as u64),
        }
    }

    fn show(&self, label: &str) {
        let shown = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
        println!(
            "{label:<34} fds {:>5}  threads {:>3}  RSS {:>9}",
            shown(self.fds.map(|n| n.to_string())),
            shown(self.threads.map(|n| n.to_string())),
            shown(self.rss_kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))),
        );
    }

    /// Bytes per item between `self` (before) and `after`.
    fn bytes_each(&self, after: &Figures, items: usize) -> Option<f64> {
        let grown = after.rss_kib?.checked_sub(self.rss_kib?)?;
        Some(grown as f64 * 1024.0 / items.max(1) as f64)
    }
}

/// A numeric field of `/proc/self/status` (`VmRSS:` in KiB, `Threads:`).
fn status_field(name: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How many threads of each name the process has (`/proc/self/task/*/comm`).
fn thread_names() -> String {
    let mut names = std::collections::BTreeMap::<String, usize>::new();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        *names.entry(name.trim().to_owned()).or_default() += 1;
    }
    let shown: Vec<String> = names.iter().map(|(name, n)| format!("{name} ×{n}")).collect();
    shown.join(", ")
}

struct Args {
    keepers: usize,
    refreshing: usize,
    sqlite: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        keepers: 100_000,
        refreshing: 300,
        sqlite: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--keepers" => args.keepers = value()?.parse().map_err(|e| format!("--keepers: {e}"))?,
            "--refreshing" => args.refreshing = value()?.parse().map_err(|e| format!("--refreshing: {e}"))?,
            "--sqlite" => args.sqlite = Some(value()?),
            other => {
                return Err(format!(
                    "unknown argument {other}; use --keepers N, --refreshing M and --sqlite PATH"
                ))
            }
        }
    }
    args.refreshing = args.refreshing.min(args.keepers);
    Ok(args)
}

/// 43 characters, like a typical opaque token.
fn token(kind: &str, i: usize) -> String {
    format!("{kind}_{i:0>12}_abcdefghijklmnopqrstuvwxyz0")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let server = tokenkeep_fixture_server::spawn(Default::default())?;
    let token_url = server.url("/token");
    let n = args.keepers;
    let store: Option<Arc<dyn TokenStore>> = match &args.sqlite {
        Some(path) => Some(SqliteStore::open(path.clone(), vec![7; 32])?.as_token_store()),
        None => None,
    };

    // Warm up what every keeper shares (the runtime, the HTTP client and a
    // pooled connection), so the per-keeper figures carry no one-off costs.
    let warm = TokenKeeper::new(TokenKeeperOptions::new(token_url.clone(), "public-app"))?;
    warm.set_token_response(
        server
            .state()
            .sign_in_tokens("public-app")
            .ok_or("no public-app client")?,
    )?;
    warm.refresh_blocking()?;

    let start = Figures::now();
    start.show("start");

    let plain: Vec<PlainAccount> = (0..n)
        .map(|i| PlainAccount {
            account: format!("user-{i}"),
            access_token: token("at", i),
            refresh_token: Some(token("rt", i)),
            expires_at_ms: 3_600_000,
        })
        .collect();
    let after_plain = Figures::now();
    after_plain.show(&format!("{n} plain structs"));
    let plain_bytes: usize = plain
        .iter()
        .map(|p| p.account.len() + p.access_token.len() + p.refresh_token.as_ref().map_or(0, String::len))
        .sum();
    let expiring = plain.iter().filter(|p| p.expires_at_ms > 0).count();

    let started = Instant::now();
    let mut keepers = Vec::with_capacity(n);
    for i in 0..n {
        let keeper = TokenKeeper::new(TokenKeeperOptions {
            account_id: format!("user-{i}"),
            store: store.clone(),
            ..TokenKeeperOptions::new(token_url.clone(), "public-app")
        })?;
        keeper.set_tokens(token("at", i), Some(token("rt", i)), Some(3600), None, None)?;
        keepers.push(keeper);
    }
    let built_in = started.elapsed();
    let idle = Figures::now();
    idle.show(&format!("{n} idle keepers"));

    // A few hundred refresh at once, with refresh tokens the server knows.
    let refreshing: Vec<Arc<TokenKeeper>> = keepers.iter().take(args.refreshing).cloned().collect();
    for keeper in &refreshing {
        let answer = server
            .state()
            .sign_in_tokens("public-app")
            .ok_or("no public-app client")?;
        keeper.set_token_response(answer)?;
    }
    let started = Instant::now();
    let results = futures::executor::block_on(futures::future::join_all(refreshing.iter().map(|k| k.refresh())));
    let refreshed_in = started.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let after_refresh = Figures::now();
    after_refresh.show(&format!("after {} refreshes", refreshing.len()));
    println!("threads by name: {}", thread_names());

    let kib = |b: Option<f64>| b.map_or("unknown".to_owned(), |b| format!("{b:.0} bytes"));
    let per_keeper = after_plain.bytes_each(&idle, n);
    let per_plain = start.bytes_each(&after_plain, n);
    println!();
    println!(
        "built {n} keepers in {built_in:?}; {} refreshes in {refreshed_in:?}, {failed} failed",
        refreshing.len()
    );
    println!("per idle keeper: {}", kib(per_keeper));
    println!(
        "per plain struct: {} ({} bytes of strings each, {expiring} with an expiry)",
        kib(per_plain),
        plain_bytes / n.max(1)
    );
    if let (Some(k), Some(p)) = (per_keeper, per_plain) {
        println!("ratio keeper / plain: {:.1}", k / p.max(1.0));
    }
    let grew = |a: Option<usize>, b: Option<usize>| match (a, b) {
        (Some(a), Some(b)) => format!("{:+}", b as i64 - a as i64),
        _ => "unknown".into(),
    };
    println!(
        "fds {} and threads {} from start to after the refreshes",
        grew(start.fds, after_refresh.fds),
        grew(start.threads, after_refresh.threads)
    );
    drop((plain, keepers, refreshing, warm));
    Ok(())
}
