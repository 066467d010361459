//! Peak memory while refusing 500 MB answers: a chunked token answer (over
//! `max_response_bytes`) and a chunked API answer through `send` (over
//! `max_api_response_bytes`), served by the in-process fixture server.
//!
//! Prints the process's peak resident set size (`VmHWM`, Linux) before and
//! after each refusal; nothing is asserted. Before the caps, the token answer
//! alone took about 2 GB.
//!
//! ```text
//! cargo run --release -p tokenkeep --example large_answer_memory
//! ```

use std::time::Instant;

use tokenkeep::{HttpRequest, TokenKeeper, TokenKeeperOptions};
use tokenkeep_fixture_server::{spawn, FaultSpec, ServerConfig};

const HALF_GB: u64 = 500_000_000;

/// Peak resident set size in KiB, if the platform says.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show(what: &str, started: Instant, result: String) {
    let peak = peak_rss_kib().map_or("unknown".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0));
    println!("{what}: {result}\n  in {:?}, peak RSS so far {peak}", started.elapsed());
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = spawn(ServerConfig::default())?;
    let config = TokenKeeperOptions {
        api_origins: vec![server.base_url()],
        ..TokenKeeperOptions::new(server.url("/token"), "public-app")
    };
    let keeper = TokenKeeper::new(config)?;
    keeper.set_token_response(
        r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}"#.into(),
    )?;
    show("before", Instant::now(), "signed in".into());

    server.state().queue_fault(FaultSpec {
        status: Some(200),
        body: Some(r#"{"access_token":"x","token_type":"Bearer","expires_in":3600}"#.into()),
        ..FaultSpec::padded_to(HALF_GB).chunked()
    })?;
    let started = Instant::now();
    let result = keeper.refresh().await.map(|_| "accepted").map_err(|e| e.to_string());
    show("500 MB chunked token answer", started, format!("{result:?}"));

    let started = Instant::now();
    let url = server.url(&format!("/api/large?bytes={HALF_GB}&chunked=true"));
    let result = keeper
        .send(HttpRequest::get(url))
        .await
        .map(|r| format!("accepted {} bytes", r.body.len()))
        .map_err(|e| e.to_string());
    show("500 MB chunked API answer", started, format!("{result:?}"));
    Ok(())
}
