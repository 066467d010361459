//! 1,000 concurrent callers on an expired token: how long until all of them
//! hold the new token, and how many requests the token endpoint saw.
//!
//! Each iteration expires the session (manual clock), starts 1,000 tasks
//! that call `access_token()`, and waits for all of them; the fixture server
//! runs on loopback in the same process. After the run the bench prints the
//! token endpoint's refresh count per iteration, which must be 1.
//!
//! Run: `cargo bench -p tokenkeep --bench concurrent_refresh`

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use tokenkeep::{ManualClock, TokenKeeper, TokenKeeperOptions};
use tokenkeep_fixture_server::{spawn, ServerConfig};

const CALLERS: usize = 1_000;

fn refresh_count(http: &reqwest::Client, runtime: &tokio::runtime::Runtime, url: &str) -> u64 {
    runtime.block_on(async {
        let stats: serde_json::Value = http.get(url).send().await.expect("stats").json().await.expect("json");
        stats["token_requests"]["refresh_token"].as_u64().expect("count")
    })
}

fn concurrent_refresh(c: &mut Criterion) {
    let server = spawn(ServerConfig::default()).expect("fixture server");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let clock = ManualClock::new();
    // A confidential client holding tokens of a fresh sign-in, refresh token included.
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some("confidential-secret".into()),
        clock: Some(clock.clone()),
        ..TokenKeeperOptions::new(server.url("/token"), "confidential-app")
    })
    .expect("builds");
    let signed_in = server.state().sign_in_tokens("confidential-app").expect("known client");
    keeper.set_token_response(signed_in).expect("set");

    let stats_url = server.url("/stats");
    let before = refresh_count(&http, &runtime, &stats_url);
    let mut iterations = 0u64;
    let mut group = c.benchmark_group("concurrent_refresh");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.bench_function(format!("{CALLERS} callers on an expired token"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                clock.advance_secs(7_200);
                iterations += 1;
                let started = Instant::now();
                runtime.block_on(async {
                    let tasks: Vec<_> = (0..CALLERS)
                        .map(|_| {
                            let keeper = keeper.clone();
                            tokio::spawn(async move { keeper.access_token().await })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("task").expect("token");
                    }
                });
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    let refreshes = refresh_count(&http, &runtime, &stats_url) - before;
    println!(
        "concurrent_refresh: {iterations} iterations x {CALLERS} callers -> {refreshes} refresh requests at the token endpoint ({:.2} per iteration)",
        refreshes as f64 / iterations.max(1) as f64
    );
    assert_eq!(refreshes, iterations, "exactly one refresh request per expiry");
}

criterion_group!(benches, concurrent_refresh);
criterion_main!(benches);
