//! The one small tokio runtime tokenkeep owns, one per process.
//!
//! All network I/O, refreshes and background work run here, whatever the
//! caller's world is: a Python script, a Kotlin coroutine, a Swift task, a
//! Rust program on its own runtime, or no runtime at all. Async exports spawn
//! their work here and await the handle (any executor can await it); blocking
//! exports wait on a plain thread. A blocking call from one of this runtime's
//! own threads (say, a store callback calling back into the session) would
//! deadlock, so it is refused with an error instead.
//!
//! Work spawned here finishes even if the caller's future is dropped: a
//! refresh that was cancelled half-way by a caller's timeout still stores the
//! rotated refresh token.
//!
//! **Per process.** The runtime remembers the process that built it
//! ([`PerProcess`]). A forked child (gunicorn `--preload`, Celery prefork,
//! `multiprocessing` with fork) inherits the runtime's memory but none of its
//! threads, so the first tokenkeep call in the child builds the child its
//! own runtime; the parent's is leaked, never dropped (dropping it would
//! wait for worker threads that do not exist in the child).
//!
//! **Bounded waits.** [`block_on`] takes a deadline. A wait that reaches it
//! returns a transient error saying the work did not finish in time; the
//! work itself goes on on the runtime, so a refresh still stores its result.
//! If the runtime cannot start (no threads left, say), every call gets an
//! internal error saying so, never a hang.

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::time::Duration;

use futures::FutureExt;
use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::{Error, TransportKind};
use crate::per_process::PerProcess;

/// Worker threads: token work is I/O-bound, two threads are plenty.
const WORKER_THREADS: usize = 2;

thread_local! {
    static ON_RUNTIME_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// This process's runtime, or why it could not start.
static RUNTIME: PerProcess<Result<Runtime, String>> = PerProcess::new();

fn build_runtime() -> Result<Runtime, String> {
    Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("tokenkeep-runtime")
        .on_thread_start(|| ON_RUNTIME_THREAD.with(|f| f.set(true)))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// A handle to the runtime of the process running now, built on first use
/// in each process.
fn runtime() -> Result<Handle, Error> {
    handle_of(&RUNTIME, build_runtime)
}

fn handle_of(
    cell: &PerProcess<Result<Runtime, String>>,
    build: impl FnOnce() -> Result<Runtime, String>,
) -> Result<Handle, Error> {
    cell.with(build, |built| match built {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(Error::internal(format!("could not start tokenkeep's runtime: {e}"))),
    })
}

/// Starts `future` on the runtime and returns a future of its result that
/// any executor can await.
pub(crate) fn spawn<F, T>(future: F) -> impl Future<Output = Result<T, Error>> + Send + 'static
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let handle = runtime().map(|rt| rt.spawn(future));
    async move {
        match handle?.await {
            Ok(result) => result,
            Err(join_error) if join_error.is_panic() => Err(panicked(join_error.into_panic())),
            Err(_) => Err(Error::internal("a tokenkeep task was cancelled")),
        }
    }
}

/// Spawns `future` and forgets it (background refreshes, the proactive task).
pub(crate) fn spawn_detached<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if let Ok(rt) = runtime() {
        rt.spawn(future);
    }
}

/// Runs `work`, which may block (a store lock, a file sync), without
/// stalling the runtime when called from one of its threads.
pub(crate) fn blocking_section<T>(work: impl FnOnce() -> T) -> T {
    if ON_RUNTIME_THREAD.with(Cell::get) {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Runs `future` on the runtime and waits for it on the calling thread, at
/// most `deadline`. At the deadline the caller gets a transient error and
/// the future runs on to its end in the background.
pub(crate) fn block_on<F, T>(deadline: Duration, future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    block_on_with(runtime(), deadline, future)
}

fn block_on_with<F, T>(runtime: Result<Handle, Error>, deadline: Duration, future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    if ON_RUNTIME_THREAD.with(Cell::get) {
        return Err(Error::configuration(
            "a blocking tokenkeep call was made from tokenkeep's own runtime thread (inside a store or listener callback?); use the async variant there",
        ));
    }
    let (done, outcome) = sync_channel(1);
    runtime?.spawn(async move {
        let result = AssertUnwindSafe(future).catch_unwind().await;
        // The waiter may have given up at its deadline; nobody to tell then.
        let _ = done.send(result);
    });
    match outcome.recv_timeout(deadline) {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(panicked(panic)),
        Err(RecvTimeoutError::Timeout) => Err(did_not_finish(deadline)),
        Err(RecvTimeoutError::Disconnected) => Err(Error::internal("a tokenkeep task was cancelled")),
    }
}

fn did_not_finish(deadline: Duration) -> Error {
    Error::Transport {
        kind: TransportKind::Timeout,
        detail: format!(
            "tokenkeep's work did not finish within {:.1} s (the most its policy allows); it goes on in the background and its result (new tokens included) is kept",
            deadline.as_secs_f64()
        ),
    }
}

fn panicked(payload: Box<dyn std::any::Any + Send>) -> Error {
    Error::internal(format!("a tokenkeep task panicked: {}", panic_message(payload)))
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOON: Duration = Duration::from_secs(10);

    #[test]
    fn block_on_runs_on_the_runtime() {
        let on_runtime = block_on(SOON, async { Ok(ON_RUNTIME_THREAD.with(Cell::get)) }).expect("runs");
        assert!(on_runtime);
    }

    #[test]
    fn a_panicking_task_is_an_internal_error() {
        let result: Result<(), Error> = block_on(SOON, async { panic!("boom") });
        assert!(matches!(result, Err(Error::Internal { detail }) if detail.contains("boom")));
    }

    #[test]
    fn blocking_from_a_runtime_thread_is_refused() {
        let nested = block_on(SOON, async { Ok(block_on(SOON, async { Ok(()) })) }).expect("outer");
        assert!(matches!(nested, Err(Error::Configuration { .. })));
    }

    #[test]
    fn a_wait_past_its_deadline_is_a_transient_error_and_the_work_still_finishes() {
        let (release, released) = futures::channel::oneshot::channel::<()>();
        let (finished, has_finished) = sync_channel::<()>(1);
        let result: Result<(), Error> = block_on(Duration::from_millis(50), async move {
            let _ = released.await;
            let _ = finished.send(());
            Ok(())
        });
        let error = result.expect_err("the work waits for `release`");
        assert!(error.is_transient(), "{error:?}");
        assert!(error.to_string().contains("did not finish within 0.1 s"), "{error}");
        release.send(()).expect("the work is still waiting");
        has_finished
            .recv_timeout(SOON)
            .expect("the work ran on after the caller gave up");
    }

    #[test]
    fn a_runtime_that_cannot_start_is_an_error_for_every_call() {
        let cell = PerProcess::new();
        let builds = std::sync::atomic::AtomicUsize::new(0);
        let failing = || {
            builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err("Resource temporarily unavailable (os error 11)".to_owned())
        };
        for _ in 0..2 {
            let handle = handle_of(&cell, failing);
            let result: Result<(), Error> = block_on_with(handle, SOON, async { Ok(()) });
            assert!(
                matches!(&result, Err(Error::Internal { detail }) if detail.contains("could not start tokenkeep's runtime")),
                "{result:?}"
            );
        }
        assert_eq!(
            builds.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the failure is remembered"
        );
    }
}
