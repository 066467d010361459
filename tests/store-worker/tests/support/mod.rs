//! Helpers of the cross-process tests: a fixture server, a store directory
//! with its key, and a record of expired tokens the workers must refresh.
//! [`kill_rounds`] kills a rotating worker again and again and counts the
//! sessions that died of it; [`rounds`] drives many-threaded workers through
//! token expiries in lockstep.

#![allow(dead_code)]

pub mod kill_rounds;
pub mod rounds;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use tokenkeep::{EncryptedFileStore, ManualClock, TokenKeeper, TokenKeeperOptions, TokenStore};
use tokenkeep_fixture_server::{spawn, ClientSpec, RunningServer, ServerConfig};

pub const ACCOUNT: &str = "shared-account";
pub const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const STEADY_CLIENT: &str = "steady-app";

pub fn key() -> Vec<u8> {
    (0u8..32).collect()
}

/// A fixture server with the default clients plus `steady-app` (no rotation).
pub fn fixture() -> RunningServer {
    let mut clients = ClientSpec::defaults();
    clients.push(ClientSpec {
        rotation: Some(false),
        ..ClientSpec::public(STEADY_CLIENT)
    });
    spawn(ServerConfig {
        clients,
        ..ServerConfig::default()
    })
    .expect("fixture server")
}

/// A fresh store directory under the system temp dir.
pub struct StoreDir(pub PathBuf);

impl StoreDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tokenkeep-{name}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        StoreDir(dir)
    }
    pub fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
    pub fn store(&self) -> Arc<dyn TokenStore> {
        EncryptedFileStore::open(self.path(), key())
            .expect("store opens")
            .as_token_store()
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Signs in at `server` as `client_id` and stores the tokens as received two
/// hours ago, so every worker finds them expired.
pub fn store_expired_tokens(server: &RunningServer, dir: &StoreDir, client_id: &str) {
    let answer = sign_in(server, client_id);
    let clock = ManualClock::starting_at(now_ms() - 2 * 3_600_000);
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        store: Some(dir.store()),
        clock: Some(clock),
        ..TokenKeeperOptions::new(server.url("/token"), client_id)
    })
    .expect("builds");
    keeper.set_token_response(answer).expect("stored");
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The token endpoint's answer for a fresh sign-in of `client_id`.
pub fn sign_in(server: &RunningServer, client_id: &str) -> String {
    server.state().sign_in_tokens(client_id).expect("a known client")
}

/// `GET /stats` → token_requests.refresh_token.
pub fn refresh_requests(server: &RunningServer) -> u64 {
    runtime().block_on(async {
        let stats: serde_json::Value = reqwest::get(server.url("/stats"))
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        stats["token_requests"]["refresh_token"].as_u64().expect("count")
    })
}

/// `(refresh_reuse_within_grace, refresh_reuse_detected)` from `GET /stats`.
pub fn reuse_counters(server: &RunningServer) -> (u64, u64) {
    runtime().block_on(async {
        let stats: serde_json::Value = reqwest::get(server.url("/stats"))
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        let count = |name: &str| stats[name].as_u64().unwrap_or_else(|| panic!("no {name} in {stats}"));
        (count("refresh_reuse_within_grace"), count("refresh_reuse_detected"))
    })
}

/// `POST /introspect`: whether the server considers `token` active.
pub fn is_active(server: &RunningServer, token: &str) -> bool {
    runtime().block_on(async {
        let v: serde_json::Value = reqwest::Client::new()
            .post(server.url("/introspect"))
            .form(&[("token", token)])
            .send()
            .await
            .expect("introspect")
            .json()
            .await
            .expect("json");
        v["active"].as_bool().expect("active")
    })
}

/// A worker process, killed (SIGKILL) and reaped when dropped, so a failing
/// test leaves no process behind.
pub struct Worker(Option<Child>);

impl Worker {
    /// Kills the worker with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    /// Waits for the worker to exit and collects its output.
    pub fn wait_with_output(mut self) -> std::process::Output {
        self.0.take().expect("running").wait_with_output().expect("worker ran")
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a worker process with `args`, stdout piped.
pub fn worker(args: &[&str]) -> Worker {
    worker_with_env(&[], args)
}

/// Starts a worker process with `args` and the environment variables `env`.
pub fn worker_with_env(env: &[(&str, &str)], args: &[&str]) -> Worker {
    Worker(Some(
        Command::new(env!("CARGO_BIN_EXE_tokenkeep-store-worker"))
            .envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("worker starts"),
    ))
}

/// Reads the worker's first stdout line.
pub fn first_line(worker: &mut Worker) -> String {
    use std::io::BufRead;
    let stdout = worker.child().stdout.as_mut().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).expect("read");
    line.trim().to_owned()
}
