//! `tokenkeep-store-worker`: one process using a tokenkeep session on a
//! shared encrypted file store, driven by the cross-process tests.
//!
//! ```text
//! tokenkeep-store-worker access-token  STORE_DIR KEY_HEX TOKEN_ENDPOINT CLIENT_ID
//!     prints the fingerprint of a valid access token (refreshing if needed), then exits
//! tokenkeep-store-worker refresh-loop  STORE_DIR KEY_HEX TOKEN_ENDPOINT CLIENT_ID
//!     prints "ready", then refreshes again and again until killed
//! tokenkeep-store-worker hold-lock     STORE_DIR KEY_HEX ACCOUNT
//!     takes the store's lock on ACCOUNT, prints "locked", then sleeps until killed
//! ```
//!
//! It prints fingerprints (the first 8 bytes of SHA-256, in hex), never
//! tokens. Exit code 0 on success, 1 with a message on stderr otherwise.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokenkeep::{ClientConfig, EncryptedFileStore, RefreshPolicy, TokenKeeper, TokenKeeperBuilder, TokenStore};

/// The account every worker uses unless told otherwise.
const ACCOUNT: &str = "shared-account";

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

fn store(dir: &str, key_hex: &str) -> Result<Arc<dyn TokenStore>, String> {
    let store = EncryptedFileStore::open(dir.to_owned(), key_from_hex(key_hex)?).map_err(|e| e.to_string())?;
    Ok(store.as_token_store())
}

fn keeper(args: &[String]) -> Result<Arc<TokenKeeper>, String> {
    let [dir, key, endpoint, client_id, ..] = args else {
        return Err("expected STORE_DIR KEY_HEX TOKEN_ENDPOINT CLIENT_ID".into());
    };
    TokenKeeperBuilder::new(ClientConfig::new(endpoint.clone(), client_id.clone()))
        .account_id(ACCOUNT.into())
        .store(store(dir, key)?)
        .policy(RefreshPolicy {
            initial_backoff_ms: 20,
            max_backoff_ms: 200,
            ..RefreshPolicy::default()
        })
        .build()
        .map_err(|e| e.to_string())
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("access-token") => {
            let keeper = keeper(&args[1..])?;
            let token = keeper.access_token_blocking().map_err(|e| e.to_string())?;
            say(&fingerprint(&token));
            Ok(())
        }
        Some("refresh-loop") => {
            let keeper = keeper(&args[1..])?;
            say("ready");
            loop {
                keeper.refresh_blocking().map_err(|e| e.to_string())?;
            }
        }
        Some("hold-lock") => {
            let [_, dir, key, account, ..] = args else {
                return Err("expected STORE_DIR KEY_HEX ACCOUNT".into());
            };
            // Keep the store (and with it the open lock file) alive until killed.
            let store = store(dir, key)?;
            store.lock(account.clone(), 5_000).map_err(|e| e.to_string())?;
            say("locked");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
        _ => Err("usage: tokenkeep-store-worker access-token|refresh-loop|hold-lock ...".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokenkeep-store-worker: {message}");
            ExitCode::FAILURE
        }
    }
}
