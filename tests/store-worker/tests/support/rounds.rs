//! Worker processes in `rounds` mode (see the worker's docs), driven in
//! lockstep: every round moves each worker's manual clock forward, then all
//! their threads ask for a token at one instant, and each worker answers
//! with its callers' times (from that instant to their token) and errors.
//! Used by the `fleet_figures` bench.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::kill_rounds::SharedStore;
use super::now_ms;

/// One `rounds` worker: its stdin to send rounds, its stdout to read answers.
struct RoundWorker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl RoundWorker {
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from the worker");
        assert!(
            !line.is_empty(),
            "a rounds worker exited early ({:?}); its stderr is above",
            self.child.try_wait()
        );
        line.trim().to_owned()
    }
}

impl Drop for RoundWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Several `rounds` workers on one store.
pub struct RoundWorkers {
    workers: Vec<RoundWorker>,
    /// Callers per round: processes × threads.
    pub callers: usize,
}

/// What the callers of one round saw.
#[derive(Debug, Default, Clone)]
pub struct RoundOutcome {
    /// Each served caller's microseconds from the round's start to its token.
    pub served_us: Vec<u64>,
    /// Failed callers by error kind (`Transient`, `SessionExpired`, ...).
    pub errors: BTreeMap<String, usize>,
    /// The round's start instant, Unix microseconds.
    pub start_at_us: u64,
}

impl RoundOutcome {
    /// The slowest served caller's time, microseconds (0 if none).
    pub fn max_us(&self) -> u64 {
        self.served_us.iter().copied().max().unwrap_or(0)
    }

    /// Failed callers.
    pub fn failed(&self) -> usize {
        self.errors.values().sum()
    }
}

impl RoundWorkers {
    /// Starts `processes` workers with `threads` callers each on `store`,
    /// and waits until each has loaded its tokens.
    pub fn start(processes: usize, threads: usize, store: &SharedStore, endpoint: &str, client_id: &str) -> Self {
        let mut args = store.worker_args("rounds", endpoint, client_id);
        args.splice(1..1, ["--threads".to_owned(), threads.to_string()]);
        let mut workers: Vec<RoundWorker> = (0..processes)
            .map(|_| {
                let mut child = Command::new(env!("CARGO_BIN_EXE_tokenkeep-store-worker"))
                    .args(&args)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("worker starts");
                let stdin = child.stdin.take().expect("stdin");
                let stdout = BufReader::new(child.stdout.take().expect("stdout"));
                RoundWorker { child, stdin, stdout }
            })
            .collect();
        for worker in &mut workers {
            assert_eq!(worker.line(), "ready");
        }
        RoundWorkers {
            workers,
            callers: processes * threads,
        }
    }

    /// One round: every worker's clock moves `advance_secs` forward, then
    /// all callers ask `lead_ms` from now. Returns what they saw.
    pub fn round(&mut self, advance_secs: i64, lead_ms: i64) -> RoundOutcome {
        let start_at_ms = now_ms() + lead_ms;
        for worker in &mut self.workers {
            writeln!(worker.stdin, "round {start_at_ms} {advance_secs}").expect("send a round");
            worker.stdin.flush().expect("flush");
        }
        let mut outcome = RoundOutcome {
            start_at_us: u64::try_from(start_at_ms).unwrap_or(0) * 1000,
            ..RoundOutcome::default()
        };
        for worker in &mut self.workers {
            let line = worker.line();
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ["served", served, "errors", errors] = fields.as_slice() else {
                panic!("unexpected answer from a rounds worker: {line:?}");
            };
            if *served != "-" {
                outcome
                    .served_us
                    .extend(served.split(',').map(|us| us.parse::<u64>().expect("microseconds")));
            }
            if *errors != "-" {
                for entry in errors.split(',') {
                    let (kind, count) = entry.split_once(':').expect("KIND:COUNT");
                    *outcome.errors.entry(kind.to_owned()).or_default() += count.parse::<usize>().expect("a count");
                }
            }
        }
        outcome
    }
}
