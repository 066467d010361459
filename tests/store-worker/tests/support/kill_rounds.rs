//! Rounds of "a worker refreshes with rotation on, is SIGKILLed at a random
//! point, then a fresh worker refreshes with what the store holds", on an
//! encrypted file store, a SQLite store or a PostgreSQL store, counting the
//! sessions that died (the refresh token in the store was already spent at
//! the server and the server treated it as reuse) and timing each takeover
//! (SIGKILL to the next worker's refreshed tokens; on PostgreSQL a killed
//! lease holder's lease has to run out first). Shared by the crash tests
//! and the `kill_figures` and `fleet_figures` benches.

use std::fmt;
use std::time::{Duration, Instant};

use tokenkeep::{
    EncryptedFileStore, PostgresSettings, PostgresStore, SqliteStore, TokenKeeper, TokenKeeperOptions, TokenStore,
};
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
    /// `PostgresStore`, one database (see [`SharedStore::postgres`]).
    Postgres,
}

impl StoreKind {
    /// The worker's `--store` value.
    pub fn arg(self) -> &'static str {
        match self {
            StoreKind::File => "file",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }

    /// Where the store lives in `dir`: the directory itself, or a database
    /// file in it (the directory is created for that). A PostgreSQL store
    /// lives in a database: see [`SharedStore::postgres`].
    pub fn location(self, dir: &StoreDir) -> String {
        match self {
            StoreKind::File => dir.path(),
            StoreKind::Sqlite => {
                std::fs::create_dir_all(&dir.0).expect("store directory");
                dir.0.join("tokens.sqlite").to_string_lossy().into_owned()
            }
            StoreKind::Postgres => panic!("a PostgreSQL store lives in a database: use SharedStore::postgres"),
        }
    }

    /// Opens the store in `dir`.
    pub fn open(self, dir: &StoreDir) -> std::sync::Arc<dyn TokenStore> {
        SharedStore {
            kind: self,
            location: self.location(dir),
            lease_ms: None,
            _dir: None,
        }
        .open()
    }
}

/// A store every worker of a run opens: its kind, where it is, and (on
/// PostgreSQL) the lease the workers use.
pub struct SharedStore {
    /// Which store.
    pub kind: StoreKind,
    /// A directory, a database file or a PostgreSQL URL.
    pub location: String,
    /// The PostgreSQL store's `lease_ms` (`None`: its default, 45 s).
    pub lease_ms: Option<i64>,
    /// The directory a local store lives in (removed when dropped).
    _dir: Option<StoreDir>,
}

impl SharedStore {
    /// A fresh encrypted file store or SQLite store in a new directory.
    pub fn local(kind: StoreKind) -> SharedStore {
        let dir = StoreDir::new(&format!("kill-rounds-{}", kind.arg()));
        SharedStore {
            kind,
            location: kind.location(&dir),
            lease_ms: None,
            _dir: Some(dir),
        }
    }

    /// The PostgreSQL database at `url`, with leases of `lease_ms`.
    pub fn postgres(url: String, lease_ms: i64) -> SharedStore {
        SharedStore {
            kind: StoreKind::Postgres,
            location: url,
            lease_ms: Some(lease_ms),
            _dir: None,
        }
    }

    /// Opens the store in this process.
    pub fn open(&self) -> std::sync::Arc<dyn TokenStore> {
        let location = self.location.clone();
        match self.kind {
            StoreKind::File => EncryptedFileStore::open(location, key()).map(EncryptedFileStore::as_token_store),
            StoreKind::Sqlite => SqliteStore::open(location, key()).map(SqliteStore::as_token_store),
            StoreKind::Postgres => {
                let settings = self.lease_ms.map(|lease_ms| PostgresSettings {
                    lease_ms,
                    ..PostgresSettings::default()
                });
                PostgresStore::open(location, key(), settings).map(PostgresStore::as_token_store)
            }
        }
        .expect("store opens")
    }

    /// The worker's arguments for `command` on this store.
    pub fn worker_args(&self, command: &str, endpoint: &str, client_id: &str) -> Vec<String> {
        let mut args = vec![command.to_owned(), "--store".into(), self.kind.arg().into()];
        if let Some(lease_ms) = self.lease_ms {
            args.extend(["--lease-ms".into(), lease_ms.to_string()]);
        }
        args.extend([self.location.clone(), KEY_HEX.into(), endpoint.into(), client_id.into()]);
        args
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::File => "file store",
            StoreKind::Sqlite => "sqlite store",
            StoreKind::Postgres => "postgres store",
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
pub fn store_signed_in(server: &RunningServer, store: &SharedStore, client_id: &str) {
    TokenKeeper::new(TokenKeeperOptions {
        account_id: ACCOUNT.into(),
        store: Some(store.open()),
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
    /// Per round, SIGKILL to the next worker's exit (its process start-up
    /// included), sorted.
    pub takeovers: Vec<Duration>,
}

impl KillFigures {
    /// `dead_sessions / kills`, in [0, 1].
    pub fn dead_fraction(&self) -> f64 {
        self.dead_sessions as f64 / self.kills.max(1) as f64
    }

    /// The takeover time at quantile `q` in [0, 1].
    pub fn takeover(&self, q: f64) -> Duration {
        let last = self.takeovers.len().saturating_sub(1);
        self.takeovers
            .get(((last as f64) * q).round() as usize)
            .copied()
            .unwrap_or_default()
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
    kill_rounds_on(server, &SharedStore::local(kind), kills)
}

/// [`kill_rounds`] on a given store (a PostgreSQL database, for one).
pub fn kill_rounds_on(server: &RunningServer, store: &SharedStore, kills: usize) -> KillFigures {
    let kind = store.kind;
    store_signed_in(server, store, ROTATING_CLIENT);
    let endpoint = server.url("/token");
    let owned = |command: &str| store.worker_args(command, &endpoint, ROTATING_CLIENT);
    let (loop_args, once_args) = (owned("refresh-loop"), owned("refresh-once"));
    fn as_strs(args: &[String]) -> Vec<&str> {
        args.iter().map(String::as_str).collect()
    }
    let (loop_args, once_args) = (as_strs(&loop_args), as_strs(&once_args));
    let (grace_before, reuse_before) = reuse_counters(server);
    let started = Instant::now();
    let mut dead_sessions = 0;
    let mut takeovers = Vec::with_capacity(kills);
    for round in 0..kills {
        let mut refreshing = worker(&loop_args);
        assert_eq!(first_line(&mut refreshing), "ready", "{kind}, round {round}");
        std::thread::sleep(Duration::from_micros(rand::random::<u64>() % MAX_KILL_DELAY_MICROS));
        refreshing.kill();
        let killed = Instant::now();

        let output = worker(&once_args).wait_with_output();
        takeovers.push(killed.elapsed());
        let stdout = String::from_utf8_lossy(&output.stdout);
        match output.status.code() {
            Some(0) => assert!(stdout.starts_with("refreshed "), "{kind}, round {round}: {stdout}"),
            Some(EXIT_SESSION_EXPIRED) => {
                assert_eq!(stdout.trim(), "session-expired", "{kind}, round {round}");
                dead_sessions += 1;
                store_signed_in(server, store, ROTATING_CLIENT);
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
    takeovers.sort();
    KillFigures {
        takeovers,
        store: kind,
        kills,
        dead_sessions,
        answered_within_grace: grace_after - grace_before,
        reuse_detected: reuse_after - reuse_before,
        elapsed,
    }
}
