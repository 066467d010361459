//! The one small tokio runtime tokenkeep owns.
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

use std::cell::Cell;
use std::future::Future;

use once_cell::sync::Lazy;
use tokio::runtime::{Builder, Runtime};

use crate::error::Error;

/// Worker threads: token work is I/O-bound, two threads are plenty.
const WORKER_THREADS: usize = 2;

thread_local! {
    static ON_RUNTIME_THREAD: Cell<bool> = const { Cell::new(false) };
}

static RUNTIME: Lazy<Result<Runtime, String>> = Lazy::new(|| {
    Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("tokenkeep-runtime")
        .on_thread_start(|| ON_RUNTIME_THREAD.with(|f| f.set(true)))
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
});

fn runtime() -> Result<&'static Runtime, Error> {
    RUNTIME
        .as_ref()
        .map_err(|e| Error::internal(format!("could not start tokenkeep's runtime: {e}")))
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
            Err(join_error) if join_error.is_panic() => Err(Error::internal(format!(
                "a tokenkeep task panicked: {}",
                panic_message(join_error.into_panic())
            ))),
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

/// Runs `future` on the runtime and waits for it on the calling thread.
pub(crate) fn block_on<F, T>(future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    if ON_RUNTIME_THREAD.with(Cell::get) {
        return Err(Error::configuration(
            "a blocking tokenkeep call was made from tokenkeep's own runtime thread (inside a store or listener callback?); use the async variant there",
        ));
    }
    futures::executor::block_on(spawn(future))
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

    #[test]
    fn block_on_runs_on_the_runtime() {
        let on_runtime = block_on(async { Ok(ON_RUNTIME_THREAD.with(Cell::get)) }).expect("runs");
        assert!(on_runtime);
    }

    #[test]
    fn a_panicking_task_is_an_internal_error() {
        let result: Result<(), Error> = block_on(async { panic!("boom") });
        assert!(matches!(result, Err(Error::Internal { detail }) if detail.contains("boom")));
    }

    #[test]
    fn blocking_from_a_runtime_thread_is_refused() {
        let nested = block_on(async { Ok(block_on(async { Ok(()) })) }).expect("outer");
        assert!(matches!(nested, Err(Error::Configuration { .. })));
    }
}
