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
//! ```
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
    EncryptedFileStore, PostgresStore, RefreshPolicy, SqliteStore, TokenKeepError, TokenKeeper, TokenKeeperOptions,
    TokenStore,
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

fn store(kind: StoreKind, location: &str, key_hex: &str) -> Result<Arc<dyn TokenStore>, String> {
    let key = key_from_hex(key_hex)?;
    match kind {
        StoreKind::File => EncryptedFileStore::open(location.to_owned(), key).map(EncryptedFileStore::as_token_store),
        StoreKind::Sqlite => SqliteStore::open(location.to_owned(), key).map(SqliteStore::as_token_store),
        StoreKind::Postgres => PostgresStore::open(location.to_owned(), key, None).map(PostgresStore::as_token_store),
    }
    .map_err(|e| e.to_string())
}

/// Splits an optional leading `--store file|sqlite|postgres` off the command's arguments.
fn store_kind(args: &[String]) -> Result<(StoreKind, &[String]), String> {
    match args {
        [flag, kind, rest @ ..] if flag == "--store" => match kind.as_str() {
            "file" => Ok((StoreKind::File, rest)),
            "sqlite" => Ok((StoreKind::Sqlite, rest)),
            "postgres" => Ok((StoreKind::Postgres, rest)),
            other => Err(format!(
                "unknown store kind {other:?} (expected file, sqlite or postgres)"
            )),
        },
        _ => Ok((StoreKind::File, args)),
    }
}

fn keeper(kind: StoreKind, args: &[String]) -> Result<Arc<TokenKeeper>, String> {
    let [location, key, endpoint, client_id, ..] = args else {
        return Err("expected STORE KEY_HEX TOKEN_ENDPOINT CLIENT_ID".into());
    };
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        store: Some(store(kind, location, key)?),
        policy: RefreshPolicy {
            initial_backoff_ms: 20,
            max_backoff_ms: 200,
            ..RefreshPolicy::default()
        },
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
    let (kind, rest) = store_kind(rest)?;
    match command.as_str() {
        "access-token" => {
            let keeper = keeper(kind, rest)?;
            wait_for_start();
            let token = keeper.access_token_blocking().map_err(|e| e.to_string())?;
            say(&fingerprint(&token));
            Ok(Outcome::Done)
        }
        "refresh-once" => match keeper(kind, rest)?.refresh_blocking() {
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
            let keeper = keeper(kind, rest)?;
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
            let store = store(kind, location, key)?;
            store.lock(account.clone(), 5_000).map_err(|e| e.to_string())?;
            say("locked");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
        _ => Err(USAGE.into()),
    }
}

/// The one-line usage message.
const USAGE: &str =
    "usage: tokenkeep-store-worker access-token|refresh-once|refresh-loop|hold-lock [--store file|sqlite|postgres] ...";

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
