//! `tokenkeep-e2e`: runs every scenario of `tests/e2e/scenarios.json` from
//! Rust against the authorization server at `$E2E_ISSUER` and writes
//! `$E2E_RESULTS_DIR/rust.json`. Exits non-zero if any scenario failed.
//!
//! Started by `tests/e2e/run.sh`, which also starts and stops the server.

mod scenarios;
mod server;

use std::process::ExitCode;

use serde_json::{json, Map, Value};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("${name} is not set (run tests/e2e/run.sh)"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("tokenkeep-e2e: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, String> {
    let scenarios_path = env("E2E_SCENARIOS")?;
    let document: Value = serde_json::from_str(
        &std::fs::read_to_string(&scenarios_path).map_err(|e| format!("cannot read {scenarios_path}: {e}"))?,
    )
    .map_err(|e| format!("{scenarios_path} is not JSON: {e}"))?;
    let server = server::E2eServer::new(env("E2E_ISSUER")?, document["server"].clone());
    let mut results = Map::new();
    let mut all_passed = true;
    for scenario in document["scenarios"].as_array().ok_or("no scenarios")? {
        let id = scenario["id"].as_str().ok_or("a scenario without an id")?;
        let outcome = match scenarios::run(id, &server).await {
            Ok(()) => "pass".to_owned(),
            Err(why) => {
                all_passed = false;
                format!("fail: {why}")
            }
        };
        println!("rust  {id:<28} {outcome}");
        results.insert(id.to_owned(), Value::String(outcome));
    }
    let dir = env("E2E_RESULTS_DIR")?;
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let report = json!({"language": "rust", "results": results});
    std::fs::write(format!("{dir}/rust.json"), report.to_string()).map_err(|e| e.to_string())?;
    Ok(all_passed)
}
