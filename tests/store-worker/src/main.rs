//! `tokenkeep-store-worker`: one process using a tokenkeep session on a
//! shared store (an encrypted file store, or a SQLite store), driven by the
//! cross-process and crash tests.
//!
//! ```text
//! tokenkeep-store-worker access-token  [--store file|sqlite|postgres] STORE KEY_HEX TOKEN_ENDPOINT CLIENT_ID
//!     prints the fingerprint of a valid access token (refreshing if needed), then exits
//! tokenkeep-store-worker refresh-once  [--store file|sqlite|postgres] STORE KEY_HEX TOKEN_ENDPOINT CLIENT_ID
//!     refreshes once with the stored tokens; prints "refreshed FINGERPRINT" (exit 0),
//!     or "session-expired" (exit 2) when the server ended the session
//! tokenkeep-store-worker refresh-loop  [--store file|sqlite|postgres] STORE KEY_HEX TOKEN_ENDPOINT CLIENT_ID
//!     prints "ready", then refreshes again and again until killed
//! tokenkeep-store-worker hold-lock     [--store file|sqlite|postgres] STORE KEY_HEX ACCOUNT
//!     takes the store's lock on ACCOUNT, prints "locked", then sleeps until killed
//! tokenkeep-store-worker rounds        [--store ...] [--threads N] STORE KEY_HEX TOKEN_ENDPOINT CLIENT_ID
//!     one session on a manual clock; prints "ready" once its tokens are
//!     loaded, then for every stdin line "round START_AT_MS ADVANCE_SECS"
//!     moves its clock forward by ADVANCE_SECS, has N threads call
//!     access_token at START_AT_MS (Unix ms) and prints one line
//!     "served US,US,... errors KIND:COUNT,..." (each served caller's
//!     microseconds from START_AT_MS to its token; "-" when none); exits at
//!     the end of stdin
//! ```
//!
//! Every command also takes `--lease-ms MS` (the PostgreSQL store's lease,
//! default 30 000) before `STORE`.
//!
//! With `TOKENKEEP_WORKER_START_AT_MS` set (Unix ms), `access-token` waits
//! until then after opening its store, so that many workers ask at once.
//!
//! `STORE` is the store's directory (`--store file`, the default), its
//! database file (`--store sqlite`) or a PostgreSQL connection string
//! (`--store postgres`). It prints fingerprints (the first 8
//! bytes of SHA-256, in hex), never tokens. Exit code 0 on success, 2 for an
//! ended session (`refresh-once`), 1 with a message on stderr otherwise.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokenkeep::{
    EncryptedFileStore, ManualClock, PostgresSettings, PostgresStore, RefreshPolicy, SqliteStore, TokenKeepError,
    TokenKeeper, TokenKeeperOptions, TokenStore,
};

/// The account every worker uses unless told otherwise.
const ACCOUNT: &str = "shared-account";

/// Exit code of `refresh-once` when the server ended the session (`invalid_grant`).
const EXIT_SESSION_EXPIRED: u8 = 2;

/// Which kind of store the worker opens.
#[derive(Debug, Clone, Copy)]
enum StoreKind {
    /// [`EncryptedFileStore`] in a directory.
    File,
    /// [`SqliteStore`] in a database file.
    Sqlite,
    /// [`PostgresStore`] at a connection string.
    Postgres,
}

/// What a command ended with, when it ended without an error.
enum Outcome {
    /// It did its job.
    Done,
    /// The server ended the session: the user has to sign in again.
    SessionExpired,
}

fn fingerprint(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn key_from_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("the key must be hex".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| format!("bad key hex: {e}")))
        .collect()
}

fn store(options: Options, location: &str, key_hex: &str) -> Result<Arc<dyn TokenStore>, String> {
    let key = key_from_hex(key_hex)?;
    match options.kind {
        StoreKind::File => EncryptedFileStore::open(location.to_owned(), key).map(EncryptedFileStore::as_token_store),
        StoreKind::Sqlite => SqliteStore::open(location.to_owned(), key).map(SqliteStore::as_token_store),
        StoreKind::Postgres => {
            let settings = options.lease_ms.map(|lease_ms| PostgresSettings {
                lease_ms,
                ..PostgresSettings::default()
            });
            PostgresStore::open(location.to_owned(), key, settings).map(PostgresStore::as_token_store)
        }
    }
    .map_err(|e| e.to_string())
}

/// The options every command takes before its positional arguments.
#[derive(Debug, Clone, Copy)]
struct Options {
    /// `--store file|sqlite|postgres` (default `file`).
    kind: StoreKind,
    /// `--lease-ms MS`: the PostgreSQL store's lease.
    lease_ms: Option<i64>,
    /// `--threads N`: callers per round of `rounds` (default 1).
    threads: usize,
}

/// Splits the leading `--store`, `--lease-ms` and `--threads` options off
/// the command's arguments.
fn options(mut args: &[String]) -> Result<(Options, &[String]), String> {
    let mut options = Options {
        kind: StoreKind::File,
        lease_ms: None,
        threads: 1,
    };
    while let [flag, value, rest @ ..] = args {
        match flag.as_str() {
            "--store" => {
                options.kind = match value.as_str() {
                    "file" => StoreKind::File,
                    "sqlite" => StoreKind::Sqlite,
                    "postgres" => StoreKind::Postgres,
                    other => {
                        return Err(format!(
                            "unknown store kind {other:?} (expected file, sqlite or postgres)"
                        ))
                    }
                }
            }
            "--lease-ms" => options.lease_ms = Some(value.parse().map_err(|e| format!("--lease-ms: {e}"))?),
            "--threads" => options.threads = value.parse().map_err(|e| format!("--threads: {e}"))?,
            _ => break,
        }
        args = rest;
    }
    Ok((options, args))
}

fn keeper(options: Options, args: &[String], clock: Option<Arc<ManualClock>>) -> Result<Arc<TokenKeeper>, String> {
    let [location, key, endpoint, client_id, ..] = args else {
        return Err("expected STORE KEY_HEX TOKEN_ENDPOINT CLIENT_ID".into());
    };
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        store: Some(store(options, location, key)?),
        policy: RefreshPolicy {
            initial_backoff_ms: 20,
            max_backoff_ms: 200,
            ..RefreshPolicy::default()
        },
        clock,
        ..TokenKeeperOptions::new(endpoint.clone(), client_id.clone())
    })
    .map_err(|e| e.to_string())
}

/// With `TOKENKEEP_WORKER_START_AT_MS` (Unix ms) set, waits until then, so
/// that workers started one after the other ask at the same moment.
fn wait_for_start() {
    let Some(start_ms) = std::env::var("TOKENKEEP_WORKER_START_AT_MS")
        .ok()
        .and_then(|v| v.parse::<u128>().ok())
    else {
        return;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let wait = u64::try_from(start_ms.saturating_sub(now_ms)).unwrap_or(0);
    std::thread::sleep(std::time::Duration::from_millis(wait));
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn run(args: &[String]) -> Result<Outcome, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err(USAGE.into());
    };
    let (options, rest) = options(rest)?;
    match command.as_str() {
        "access-token" => {
            let keeper = keeper(options, rest, None)?;
            wait_for_start();
            let token = keeper.access_token_blocking().map_err(|e| e.to_string())?;
            say(&fingerprint(&token));
            Ok(Outcome::Done)
        }
        "refresh-once" => match keeper(options, rest, None)?.refresh_blocking() {
            Ok(tokens) => {
                say(&format!("refreshed {}", fingerprint(&tokens.access_token())));
                Ok(Outcome::Done)
            }
            Err(TokenKeepError::SessionExpired { .. }) => {
                say("session-expired");
                Ok(Outcome::SessionExpired)
            }
            Err(e) => Err(e.to_string()),
        },
        "refresh-loop" => {
            let keeper = keeper(options, rest, None)?;
            say("ready");
            loop {
                keeper.refresh_blocking().map_err(|e| e.to_string())?;
            }
        }
        "hold-lock" => {
            let [location, key, account, ..] = rest else {
                return Err("expected STORE KEY_HEX ACCOUNT".into());
            };
            // Keep the store (and with it the open lock file) alive until killed.
            let store = store(options, location, key)?;
            store.lock(account.clone(), 5_000).map_err(|e| e.to_string())?;
            say("locked");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
        "rounds" => rounds(options, rest),
        _ => Err(USAGE.into()),
    }
}

/// `rounds`: see the module docs.
fn rounds(options: Options, args: &[String]) -> Result<Outcome, String> {
    let clock = ManualClock::new();
    let keeper = keeper(options, args, Some(clock.clone()))?;
    keeper.access_token_blocking().map_err(|e| e.to_string())?;
    say("ready");
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ["round", start_at, advance_secs] = fields.as_slice() else {
            return Err(format!("expected \"round START_AT_MS ADVANCE_SECS\", got {line:?}"));
        };
        let start_at_us = start_at.parse::<u128>().map_err(|e| e.to_string())? * 1000;
        clock.advance_secs(
            advance_secs
                .parse()
                .map_err(|e: std::num::ParseIntError| e.to_string())?,
        );
        let outcomes: Vec<Result<u128, String>> = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..options.threads)
                .map(|_| {
                    let keeper = &keeper;
                    scope.spawn(move || {
                        sleep_until_us(start_at_us);
                        match keeper.access_token_blocking() {
                            Ok(_) => Ok(unix_us().saturating_sub(start_at_us)),
                            Err(e) => Err(error_kind(&e)),
                        }
                    })
                })
                .collect();
            callers
                .into_iter()
                .map(|caller| caller.join().unwrap_or_else(|_| Err("Panic".into())))
                .collect()
        });
        let served: Vec<String> = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok().map(u128::to_string))
            .collect();
        let mut errors = std::collections::BTreeMap::<&str, usize>::new();
        for kind in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            *errors.entry(kind.as_str()).or_default() += 1;
        }
        let errors: Vec<String> = errors.iter().map(|(kind, n)| format!("{kind}:{n}")).collect();
        let or_dash = |v: Vec<String>| if v.is_empty() { "-".to_owned() } else { v.join(",") };
        say(&format!("served {} errors {}", or_dash(served), or_dash(errors)));
    }
    Ok(Outcome::Done)
}

/// The error's variant name (`Transient`, `SessionExpired`, ...).
fn error_kind(error: &TokenKeepError) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("Unknown")
        .to_owned()
}

fn unix_us() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

fn sleep_until_us(at_us: u128) {
    let wait = u64::try_from(at_us.saturating_sub(unix_us())).unwrap_or(0);
    std::thread::sleep(std::time::Duration::from_micros(wait));
}

/// The one-line usage message.
const USAGE: &str =
    "usage: tokenkeep-store-worker access-token|refresh-once|refresh-loop|hold-lock|rounds [--store file|sqlite|postgres] [--lease-ms MS] [--threads N] ...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::SessionExpired) => ExitCode::from(EXIT_SESSION_EXPIRED),
        Err(message) => {
            eprintln!("tokenkeep-store-worker: {message}");
            ExitCode::FAILURE
        }
    }
}
