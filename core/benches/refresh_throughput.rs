//! Refresh throughput: tokenkeep against a raw reqwest POST loop doing the
//! same refresh_token grant on the same fixture server, in one run.
//!
//! Each tokenkeep refresh is a real one: the keeper's manual clock jumps
//! past the access token's expiry and `access_token()` refreshes (store
//! lock, re-read, in-flight marker, request, rotation stored, served). The
//! raw loop posts the grant with reqwest and keeps the rotated refresh token
//! from the JSON answer, nothing else. Both run sequentially (one caller)
//! and with 8 callers in parallel (8 accounts, one task each), on the same
//! caller runtime, against a fixture server on loopback in this process.
//! Rounds alternate between the two, and the best round of each counts, so
//! load from other processes on the machine hurts both alike. The line to
//! read is the ratio: tokenkeep's refreshes per second over raw reqwest's.
//!
//! A harness (not criterion). Run:
//! `cargo bench -p tokenkeep --bench refresh_throughput`
//! (2,000 refreshes per round). In test mode (`cargo test --all-targets`,
//! no `--bench` argument) it runs a few dozen, to check it works; figures
//! from a debug build mean nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenkeep::{ManualClock, TokenKeeper, TokenKeeperOptions};
use tokenkeep_fixture_server::{spawn, RunningServer, ServerConfig};

const CLIENT_ID: &str = "confidential-app";
const CLIENT_SECRET: &str = "confidential-secret";
/// Callers in the parallel runs.
const PARALLEL: usize = 8;
/// Rounds per contender; the best counts.
const ROUNDS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let refreshes = if args.iter().any(|a| a == "--bench") { 2_000 } else { 40 };
    let server = spawn(ServerConfig::default()).expect("fixture server");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for callers in [1, PARALLEL] {
        let per_caller = refreshes / callers;
        let raw = RawLoop::new(&server, callers);
        let kept = Keepers::new(&server, callers);
        let (mut best_raw, mut best_kept) = (0.0f64, 0.0f64);
        for _ in 0..ROUNDS {
            best_raw = best_raw.max(runtime.block_on(raw.run(per_caller)));
            best_kept = best_kept.max(runtime.block_on(kept.run(per_caller)));
        }
        println!(
            "refresh_throughput: {callers} caller(s), {} refreshes per round: raw reqwest {best_raw:.0}/s, tokenkeep {best_kept:.0}/s, ratio {:.1} %",
            per_caller * callers,
            100.0 * best_kept / best_raw
        );
    }
    assert_eq!(refresh_requests(&server, &runtime), expected_requests(refreshes));
}

/// Every refresh request each round made, over both caller counts (plus
/// the keepers' none at start: tokens are handed over, not fetched).
fn expected_requests(refreshes: usize) -> u64 {
    let rounds = 2 * ROUNDS;
    [1, PARALLEL]
        .iter()
        .map(|callers| (rounds * (refreshes / callers) * callers) as u64)
        .sum()
}

fn refresh_requests(server: &RunningServer, runtime: &tokio::runtime::Runtime) -> u64 {
    runtime.block_on(async {
        let stats: serde_json::Value = reqwest::get(server.url("/stats"))
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        stats["token_requests"]["refresh_token"].as_u64().expect("count")
    })
}

/// The baseline: reqwest posting the grant, one refresh token per caller.
struct RawLoop {
    http: reqwest::Client,
    url: String,
    /// Each caller's current refresh token (rotated by every refresh).
    refresh_tokens: std::sync::Mutex<Vec<String>>,
}

impl RawLoop {
    fn new(server: &RunningServer, callers: usize) -> Self {
        let refresh_tokens = (0..callers)
            .map(|_| {
                let signed_in: serde_json::Value =
                    serde_json::from_str(&server.state().sign_in_tokens(CLIENT_ID).expect("client")).expect("json");
                signed_in["refresh_token"].as_str().expect("refresh token").to_owned()
            })
            .collect();
        Self {
            http: reqwest::Client::new(),
            url: server.url("/token"),
            refresh_tokens: std::sync::Mutex::new(refresh_tokens),
        }
    }

    /// Refreshes per second over `per_caller` refreshes by each caller.
    async fn run(&self, per_caller: usize) -> f64 {
        let started = Instant::now();
        let current = self.refresh_tokens.lock().expect("tokens").clone();
        let callers = current.into_iter().map(|first| {
            let (http, url, mut refresh_token) = (self.http.clone(), self.url.clone(), first);
            tokio::spawn(async move {
                for _ in 0..per_caller {
                    let answer: serde_json::Value = http
                        .post(&url)
                        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)])
                        .send()
                        .await
                        .expect("sent")
                        .error_for_status()
                        .expect("200")
                        .json()
                        .await
                        .expect("json");
                    if let Some(rotated) = answer["refresh_token"].as_str() {
                        refresh_token = rotated.to_owned();
                    }
                }
                refresh_token
            })
        });
        let callers: Vec<_> = callers.collect();
        let count = callers.len();
        let mut rotated = Vec::with_capacity(count);
        for caller in callers {
            rotated.push(caller.await.expect("caller"));
        }
        let took = started.elapsed();
        *self.refresh_tokens.lock().expect("tokens") = rotated;
        rate(per_caller * count, took)
    }
}

/// The contender: one keeper per caller, on its own account.
struct Keepers {
    keepers: Vec<(Arc<TokenKeeper>, Arc<ManualClock>)>,
}

impl Keepers {
    fn new(server: &RunningServer, callers: usize) -> Self {
        let keepers = (0..callers)
            .map(|_| {
                let clock = ManualClock::new();
                let keeper = TokenKeeper::new(TokenKeeperOptions {
                    client_secret: Some(CLIENT_SECRET.into()),
                    clock: Some(clock.clone()),
                    ..TokenKeeperOptions::new(server.url("/token"), CLIENT_ID)
                })
                .expect("builds");
                keeper
                    .set_token_response(server.state().sign_in_tokens(CLIENT_ID).expect("client"))
                    .expect("set");
                (keeper, clock)
            })
            .collect();
        Self { keepers }
    }

    async fn run(&self, per_caller: usize) -> f64 {
        let started = Instant::now();
        let callers: Vec<_> = self
            .keepers
            .iter()
            .map(|(keeper, clock)| {
                let (keeper, clock) = (keeper.clone(), clock.clone());
                tokio::spawn(async move {
                    for _ in 0..per_caller {
                        clock.advance_secs(7_200);
                        keeper.access_token().await.expect("refreshed");
                    }
                })
            })
            .collect();
        let count = callers.len();
        for caller in callers {
            caller.await.expect("caller");
        }
        rate(per_caller * count, started.elapsed())
    }
}

fn rate(refreshes: usize, took: Duration) -> f64 {
    refreshes as f64 / took.as_secs_f64()
}
