//! The keep-alive sweep's rate against the fixture server's own maximum.
//!
//! Issue 13 asks that tokenkeep not be the bottleneck of a sweep. This
//! example writes `--accounts` due accounts (default 10,000) into a fresh
//! SQLite store, each with a refresh token the in-process fixture server
//! issued, and sweeps them with `--concurrency` refreshes at once (default
//! 8) and no rate limit. Then, against the same server, a raw reqwest loop
//! sends the same number of refresh_token grants (fresh refresh tokens,
//! the same concurrency): what the server can answer without tokenkeep.
//! The same sweep over a memory store separates the sweep's own cost from
//! SQLite's. It prints the rates and their ratios; nothing is asserted.
//!
//! ```text
//! cargo run -p tokenkeep --release --example sweep_rate
//! cargo run -p tokenkeep --release --example sweep_rate -- --accounts 2000 --concurrency 16
//! ```
//!
//! The sweep's figure includes what the raw loop does not do: listing the
//! due accounts from the store's index, loading and decrypting each record
//! under its lock, and sealing and writing (with fsync) the new tokens.

use std::time::Instant;

use futures::StreamExt;
use serde_json::Value;
use tokenkeep::{AccountRegistry, SqliteStore, SweepOptions, TokenKeeperOptions};
use tokenkeep_fixture_server::ServerConfig;

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

/// A record as a session writes it (`record.rs`, schema 1), due: its
/// refresh token expires in ten minutes.
fn due_record(tokens: &Value) -> Vec<u8> {
    let now = now_ms();
    serde_json::json!({
        "schema_version": 1, "generation": 1, "saved_at_ms": now,
        "tokens": {
            "access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
            "token_type": "Bearer", "received_at_ms": now - 1_000, "expires_at_ms": now + 3_600_000,
            "refresh_token_expires_at_ms": now + 600_000, "scope": null, "id_token": null, "extra": "{}"
        }
    })
    .to_string()
    .into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let accounts = argument("--accounts", 10_000);
    let concurrency = argument("--concurrency", 8);
    let server = tokenkeep_fixture_server::spawn(ServerConfig::default())?;
    let sign_in = || -> Value {
        serde_json::from_str(&server.state().sign_in_tokens("public-app").expect("known client")).expect("json")
    };

    let dir = std::env::temp_dir().join(format!("tokenkeep-sweep-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open(dir.join("tokens.sqlite").to_string_lossy().into_owned(), vec![7; 32])?;
    let started = Instant::now();
    let records = store.clone().as_token_store();
    for i in 0..accounts {
        records.save(format!("user-{i:07}"), due_record(&sign_in()))?;
    }
    println!(
        "wrote {accounts} due accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let template = TokenKeeperOptions::new(server.url("/token"), "public-app");
    let registry = AccountRegistry::new_on_sqlite(template, store, 100)?;
    let options = SweepOptions {
        max_concurrent_refreshes: i32::try_from(concurrency)?,
        max_refreshes_per_second: None,
        ..SweepOptions::within_secs(3_600)
    };
    let summary = registry.sweep_blocking(options.clone(), None)?;
    assert_eq!(usize::try_from(summary.refreshed)?, accounts, "{summary}");
    let sweep_rate = summary.refreshed as f64 / (summary.elapsed_ms.max(1) as f64 / 1000.0);

    // The same sweep over the memory store: the sweep's own cost, without
    // SQLite's sealed writes and fsyncs.
    let template = TokenKeeperOptions::new(server.url("/token"), "public-app");
    let in_memory = AccountRegistry::new(template, 100)?;
    for i in 0..accounts {
        let mut tokens = sign_in();
        tokens["refresh_token_expires_in"] = serde_json::json!(600);
        in_memory
            .keeper(format!("user-{i:07}"))?
            .set_token_response(tokens.to_string())?;
    }
    let memory = in_memory.sweep_blocking(options.clone(), None)?;
    assert_eq!(usize::try_from(memory.refreshed)?, accounts, "{memory}");
    let memory_rate = memory.refreshed as f64 / (memory.elapsed_ms.max(1) as f64 / 1000.0);

    let refresh_tokens: Vec<String> = (0..accounts)
        .map(|_| sign_in()["refresh_token"].as_str().expect("refresh token").to_owned())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let token_url = server.url("/token");
    let raw_elapsed = runtime.block_on(async {
        let http = reqwest::Client::new();
        let started = Instant::now();
        let answered = futures::stream::iter(refresh_tokens)
            .map(|refresh_token| {
                let (http, url) = (http.clone(), token_url.clone());
                async move {
                    let form = [
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh_token.as_str()),
                        ("client_id", "public-app"),
                    ];
                    let response = http.post(url).form(&form).send().await.expect("sent");
                    assert!(response.status().is_success());
                    response.bytes().await.expect("answer").len()
                }
            })
            .buffer_unordered(concurrency)
            .count()
            .await;
        assert_eq!(answered, accounts);
        started.elapsed()
    });
    let raw_rate = accounts as f64 / raw_elapsed.as_secs_f64();

    println!("{accounts} accounts, {concurrency} at once:");
    println!(
        "  sweep (SQLite, list + lock + refresh + seal + fsync): {sweep_rate:>8.0} accounts/s ({} ms)",
        summary.elapsed_ms
    );
    println!(
        "  sweep (memory store):                                 {memory_rate:>8.0} accounts/s ({} ms)",
        memory.elapsed_ms
    );
    println!(
        "  raw reqwest refresh_token loop (server maximum):       {raw_rate:>8.0} grants/s ({} ms)",
        raw_elapsed.as_millis()
    );
    println!(
        "  sweep / raw: SQLite {:.2}, memory {:.2}",
        sweep_rate / raw_rate,
        memory_rate / raw_rate
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
