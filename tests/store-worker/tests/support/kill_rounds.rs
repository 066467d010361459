//! Rounds of "a worker refreshes with rotation on, is SIGKILLed at a random
//! point, then a fresh worker refreshes with what the store holds", on an
//! encrypted file store or a SQLite store, counting the sessions that died:
//! the refresh token in the store was already spent at the server and the
//! server treated it as reuse. Shared by the crash tests and the
//! `kill_figures` bench.

use std::fmt;
use std::time::{Duration, Instant};

use tokenkeep::{EncryptedFileStore, SqliteStore, TokenKeeper, TokenKeeperOptions, TokenStore};
use tokenkeep_fixture_server::{spawn, ClientSpec, RunningServer, ServerConfig};

use super::{first_line, key, reuse_counters, sign_in, worker, StoreDir, ACCOUNT, KEY_HEX};

/// A public client with refresh-token rotation on.
pub const ROTATING_CLIENT: &str = "rotating-app";

/// Exit code of `tokenkeep-store-worker refresh-once` for an ended session.
const EXIT_SESSION_EXPIRED: i32 = 2;

/// Longest random pause between "ready" and SIGKILL.
const MAX_KILL_DELAY_MICROS: u64 = 20_000;

/// Which store the workers share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// `EncryptedFileStore`, one directory.
    File,
    /// `SqliteStore`, one database file.
    Sqlite,
}

impl StoreKind {
    /// The worker's `--store` value.
    pub fn arg(self) -> &'static str {
        match self {
            StoreKind::File => "file",
            StoreKind::Sqlite => "sqlite",
        }
    }

    /// Where the store lives in `dir`: the directory itself, or a database
    /// file in it (the directory is created for that).
    pub fn location(self, dir: &StoreDir) -> String {
        match self {
            StoreKind::File => dir.path(),
            StoreKind::Sqlite => {
                std::fs::create_dir_all(&dir.0).expect("store directory");
                dir.0.join("tokens.sqlite").to_string_lossy().into_owned()
            }
        }
    }

    /// Opens the store in `dir`.
    pub fn open(self, dir: &StoreDir) -> std::sync::Arc<dyn TokenStore> {
        let location = self.location(dir);
        match self {
            StoreKind::File => EncryptedFileStore::open(location, key()).map(EncryptedFileStore::as_token_store),
            StoreKind::Sqlite => SqliteStore::open(location, key()).map(SqliteStore::as_token_store),
        }
        .expect("store opens")
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::File => "file store",
            StoreKind::Sqlite => "sqlite store",
        })
    }
}

/// A fixture server with the default clients plus [`ROTATING_CLIENT`], and a
/// refresh-token reuse grace period of `grace_secs` for every client.
pub fn rotating_fixture(grace_secs: u64) -> RunningServer {
    let mut clients = ClientSpec::defaults();
    clients.push(ClientSpec {
        rotation: Some(true),
        ..ClientSpec::public(ROTATING_CLIENT)
    });
    spawn(ServerConfig {
        clients,
        rotation: true,
        refresh_reuse_grace_secs: grace_secs,
        ..ServerConfig::default()
    })
    .expect("fixture server")
}

/// Signs in (the fixture's in-process helper) and stores the tokens.
pub fn store_signed_in(server: &RunningServer, kind: StoreKind, dir: &StoreDir, client_id: &str) {
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        store: Some(kind.open(dir)),
        ..TokenKeeperOptions::new(server.url("/token"), client_id)
    })
    .expect("builds")
    .set_token_response(sign_in(server, client_id))
    .expect("stored");
}

/// What a run of [`kill_rounds`] saw.
#[derive(Debug, Clone)]
pub struct KillFigures {
    /// The store the workers shared.
    pub store: StoreKind,
    /// How many times a refreshing worker was SIGKILLed.
    pub kills: usize,
    /// Rounds after which the next worker found the session ended.
    pub dead_sessions: usize,
    /// Refreshes the server answered within its reuse grace period.
    pub answered_within_grace: u64,
    /// Refreshes the server treated as reuse (each revoked a family).
    pub reuse_detected: u64,
    /// Wall time of all rounds.
    pub elapsed: Duration,
}

impl KillFigures {
    /// `dead_sessions / kills`, in [0, 1].
    pub fn dead_fraction(&self) -> f64 {
        self.dead_sessions as f64 / self.kills.max(1) as f64
    }
}

impl fmt::Display for KillFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} kills, {} dead sessions ({:.1} %), {} refreshes answered within the grace period, {} reuse detections, {:.1} s",
            self.store,
            self.kills,
            self.dead_sessions,
            100.0 * self.dead_fraction(),
            self.answered_within_grace,
            self.reuse_detected,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Runs `kills` rounds on a fresh `kind` store against `server` (whose reuse
/// grace period decides what a kill costs). Each round: a worker refreshes
/// [`ROTATING_CLIENT`]'s session in a loop, is SIGKILLed 0–20 ms after it
/// is ready, then a fresh worker refreshes once with what the store holds.
/// If that finds the session ended, the session is counted dead and signed
/// in again before the next round. Panics on any other failure.
pub fn kill_rounds(server: &RunningServer, kind: StoreKind, kills: usize) -> KillFigures {
    let dir = StoreDir::new(&format!("kill-rounds-{}", kind.arg()));
    store_signed_in(server, kind, &dir, ROTATING_CLIENT);
    let (location, endpoint) = (kind.location(&dir), server.url("/token"));
    let args = |command: &'static str| {
        [
            command,
            "--store",
            kind.arg(),
            location.as_str(),
            KEY_HEX,
            endpoint.as_str(),
            ROTATING_CLIENT,
        ]
    };
    let (grace_before, reuse_before) = reuse_counters(server);
    let started = Instant::now();
    let mut dead_sessions = 0;
    for round in 0..kills {
        let mut refreshing = worker(&args("refresh-loop"));
        assert_eq!(first_line(&mut refreshing), "ready", "{kind}, round {round}");
        std::thread::sleep(Duration::from_micros(rand::random::<u64>() % MAX_KILL_DELAY_MICROS));
        refreshing.kill();

        let output = worker(&args("refresh-once")).wait_with_output();
        let stdout = String::from_utf8_lossy(&output.stdout);
        match output.status.code() {
            Some(0) => assert!(stdout.starts_with("refreshed "), "{kind}, round {round}: {stdout}"),
            Some(EXIT_SESSION_EXPIRED) => {
                assert_eq!(stdout.trim(), "session-expired", "{kind}, round {round}");
                dead_sessions += 1;
                store_signed_in(server, kind, &dir, ROTATING_CLIENT);
            }
            _ => panic!(
                "{kind}, round {round}: the next worker failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
    let elapsed = started.elapsed();
    let (grace_after, reuse_after) = reuse_counters(server);
    KillFigures {
        store: kind,
        kills,
        dead_sessions,
        answered_within_grace: grace_after - grace_before,
        reuse_detected: reuse_after - reuse_before,
        elapsed,
    }
}
