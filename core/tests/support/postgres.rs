//! A real PostgreSQL server for the PostgreSQL store's tests, in one place.
//!
//! [`PgServer::shared`] gives every test of a test binary the same server
//! (started on first use, stopped when the last test holding it ends), and
//! [`PgServer::database`] a fresh database on it, so tests do not see each
//! other's rows. [`PgServer::own`] starts a private server that a test may
//! stop and start again (the outage test).
//!
//! With `TOKENKEEP_TEST_POSTGRES_URL` set (a libpq URL of a superuser-ish
//! role that may `CREATE DATABASE`), shared tests use that server instead.
//! Otherwise the server is a throwaway cluster: `initdb` (as user
//! `postgres` when running as root, since `initdb` refuses root) into a
//! temporary directory, `pg_ctl start` on 127.0.0.1 and a free port with
//! trust authentication for the role `tokenkeep`, every wait bounded.
//! `pg_ctl stop` (the cluster's own postmaster PID, from its
//! `postmaster.pid`) and the directory's removal end it.
//!
//! No PostgreSQL binaries is a test FAILURE that says what to install,
//! never a skip: these tests are the only proof the store works.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The role the throwaway clusters create (trust authentication).
const ROLE: &str = "tokenkeep";

/// A running PostgreSQL server the tests may use.
pub struct PgServer {
    /// `postgresql://…@127.0.0.1:PORT` without a database name.
    base_url: String,
    /// `None` for a server given by `TOKENKEEP_TEST_POSTGRES_URL`.
    cluster: Option<Cluster>,
}

/// A throwaway cluster this test process started.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());

impl PgServer {
    /// The server shared by this binary's tests.
    pub fn shared() -> Arc<PgServer> {
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(match std::env::var("TOKENKEEP_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => PgServer {
                base_url: url.trim_end_matches('/').to_owned(),
                cluster: None,
            },
            _ => PgServer::start_cluster(),
        });
        *shared = Arc::downgrade(&server);
        server
    }

    /// A server of this test's own, which it may stop and start.
    pub fn own() -> PgServer {
        PgServer::start_cluster()
    }

    /// [`PgServer::own`] for `figure`, which stops and starts its server:
    /// with `TOKENKEEP_TEST_POSTGRES_URL` set it fails, saying why, rather
    /// than start a cluster the caller asked not to (or stop theirs).
    pub fn own_for(figure: &str) -> PgServer {
        if std::env::var("TOKENKEEP_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
            panic!(
                "{figure} stops and starts PostgreSQL, so it needs a cluster it owns (initdb'd by this harness); \
                 it never stops a server given by TOKENKEEP_TEST_POSTGRES_URL. Unset TOKENKEEP_TEST_POSTGRES_URL \
                 (PostgreSQL's server binaries, initdb and pg_ctl, must be installed then)"
            );
        }
        PgServer::own()
    }

    fn start_cluster() -> PgServer {
        let bin = postgres_bin_dir();
        let as_postgres = running_as_root();
        let dir = std::env::temp_dir().join(format!("tokenkeep-pg-{}-{}", std::process::id(), rand::random::<u64>()));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).expect("temp dir for PostgreSQL");
        if as_postgres {
            must(
                Command::new("chown").args(["postgres:postgres"]).arg(&dir),
                "chown the cluster dir",
            );
        }
        let cluster = Cluster {
            port: free_port(),
            bin,
            dir,
            data,
            as_postgres,
        };
        must(
            cluster.command("initdb").args([
                "-D",
                &cluster.data.to_string_lossy(),
                "-U",
                ROLE,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]),
            "initdb",
        );
        cluster.start();
        PgServer {
            base_url: format!("postgresql://{ROLE}@127.0.0.1:{}", cluster.port),
            cluster: Some(cluster),
        }
    }

    /// The URL of a new, empty database on this server (`sslmode=disable`:
    /// loopback).
    pub fn database(&self) -> String {
        let name = format!("tk_{}_{:x}", std::process::id(), rand::random::<u64>());
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url_of(&name)
    }

    fn url_of(&self, database: &str) -> String {
        let mut url = url::Url::parse(&self.base_url).expect("TOKENKEEP_TEST_POSTGRES_URL is a postgresql:// URL");
        url.set_path(&format!("/{database}"));
        if !url.query_pairs().any(|(k, _)| k == "sslmode") {
            url.query_pairs_mut().append_pair("sslmode", "disable");
        }
        url.to_string()
    }

    /// Runs `sql` in `database` with psql; returns its unaligned output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let psql = match &self.cluster {
            Some(cluster) => cluster.bin.join("psql"),
            None => PathBuf::from("psql"),
        };
        let output = must(
            Command::new(psql).args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url_of(database),
                "-c",
                sql,
            ]),
            "psql",
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Runs `sql` in the database of `url` (one that [`PgServer::database`] gave).
    pub fn sql(&self, url: &str, sql: &str) -> String {
        let name = url
            .rsplit_once('/')
            .and_then(|(_, rest)| rest.split('?').next())
            .expect("a database name");
        self.psql(name, sql)
    }

    /// Stops this test's own server (fast shutdown), waiting until it is down.
    pub fn stop(&self) {
        self.cluster.as_ref().expect("an own server").stop();
    }

    /// Freezes this test's own server (SIGSTOP to the postmaster and every
    /// backend): connections stay open, nothing answers. A slow database.
    pub fn pause(&self) {
        self.cluster.as_ref().expect("an own server").signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.cluster.as_ref().expect("an own server").signal("-CONT");
    }

    /// Starts this test's own server again on the same port.
    pub fn start(&self) {
        self.cluster.as_ref().expect("an own server").start();
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Some(cluster) = &self.cluster {
            cluster.stop();
            let _ = std::fs::remove_dir_all(&cluster.dir);
        }
    }
}

impl Cluster {
    /// `tool` from the PostgreSQL binaries, as user `postgres` when root.
    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.dir.display()
        );
        must(
            self.command("pg_ctl").args([
                "start",
                "-D",
                &self.data.to_string_lossy(),
                "-l",
                &self.dir.join("server.log").to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
            ]),
            "pg_ctl start",
        );
    }

    /// Sends `signal` to the postmaster (its PID from `postmaster.pid`) and
    /// its children.
    fn signal(&self, signal: &str) {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid")).expect("postmaster.pid");
        let pid = pid_file.lines().next().expect("a PID").trim().to_owned();
        let mut pids = vec![pid.clone()];
        pids.extend(children_of(&pid));
        // bash's own `kill`: no procps needed.
        must(
            Command::new("bash").args(["-c", &format!("kill {signal} {}", pids.join(" "))]),
            "signal the PostgreSQL processes",
        );
    }

    fn stop(&self) {
        if !self.data.join("postmaster.pid").exists() {
            return;
        }
        let _ = self
            .command("pg_ctl")
            .args([
                "stop",
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
            ])
            .output();
    }
}

/// Where PostgreSQL's server binaries are; fails the test, saying what to
/// install, when there are none.
fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TOKENKEEP_TEST_POSTGRES_BIN") {
        return PathBuf::from(dir);
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    // The newest major version first; 15 is what CI installs.
    candidates.sort_by_key(|p| std::cmp::Reverse(p.to_string_lossy().into_owned()));
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server binaries (initdb, pg_ctl) found in /usr/lib/postgresql/*/bin or `pg_config --bindir`: \
                 install them (Debian/Ubuntu: apt-get install postgresql-15, or postgresql), set TOKENKEEP_TEST_POSTGRES_BIN \
                 to their directory, or set TOKENKEEP_TEST_POSTGRES_URL to a server to use"
            )
        })
}

/// The PIDs whose parent is `pid` (from /proc/*/stat).
fn children_of(pid: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "PID (comm) STATE PPID ...": the comm may hold spaces.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid = after_comm.split_whitespace().nth(1)?;
            (ppid == pid).then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `command` (bounded: these tools end on their own, `pg_ctl -w -t`
/// included) and fails the test with its output if it fails.
fn must(command: &mut Command, what: &str) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Waits a moment longer than `ms`, for lease-expiry tests.
pub fn past(ms: u64) -> Duration {
    Duration::from_millis(ms + 50)
}
