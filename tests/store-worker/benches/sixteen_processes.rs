//! Sixteen processes sharing one encrypted file store find the token expired
//! at once: how long until all of them hold a fresh token, and how many
//! refresh requests the token endpoint saw (must be 1 per round).
//!
//! A harness (not criterion): each round starts 16 worker processes and
//! waits for all of them, so process start-up is part of the figure, as it
//! is for real CLI tools sharing a store.
//!
//! Run: `cargo bench -p tokenkeep-store-worker --bench sixteen_processes`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::*;

const ROUNDS: usize = 10;
const PROCESSES: usize = 16;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let server = fixture();
    let endpoint = server.url("/token");
    let mut millis = Vec::new();
    for _ in 0..ROUNDS {
        let dir = StoreDir::new("bench-sixteen");
        store_expired_tokens(&server, &dir, "public-app");
        let before = refresh_requests(&server);
        let path = dir.path();
        let started = Instant::now();
        let workers: Vec<_> = (0..PROCESSES)
            .map(|_| worker(&["access-token", &path, KEY_HEX, &endpoint, "public-app"]))
            .collect();
        for child in workers {
            let output = child.wait_with_output();
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        }
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(refresh_requests(&server) - before, 1, "one refresh per round");
    }
    millis.sort_by(|a, b| a.total_cmp(b));
    println!(
        "sixteen_processes: {PROCESSES} processes x {ROUNDS} rounds, all holding a fresh token after: median {:.1} ms, min {:.1} ms, max {:.1} ms; 1 refresh request per round",
        millis[ROUNDS / 2],
        millis[0],
        millis[ROUNDS - 1]
    );
}
