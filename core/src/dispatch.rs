//! The one thread that calls into the app: listener events and log records.
//!
//! Everything tokenkeep tells the app (a [`SessionListener`](crate::SessionListener)
//! event, a record for a [`LogSink`](crate::LogSink)) is queued here and run
//! on a single tokenkeep-owned thread, `tokenkeep-events`, in the order it
//! was queued. So an app's callback never runs while tokenkeep holds a lock,
//! never runs on a thread that is refreshing, and a slow callback delays
//! other callbacks, never a refresh. A job that panics (a Rust callback that
//! panics, a foreign one that throws) is isolated: the thread goes on.
//!
//! # Fork
//!
//! Threads do not survive `fork()`: in a forked child (Python's
//! `multiprocessing` with the fork start method, a pre-forking server) the
//! thread started by the parent is gone while its channel still looks open,
//! so jobs would queue up forever. The dispatcher therefore remembers the
//! process id that started it and, when used from another process, starts a
//! new thread with a new channel. Jobs queued in the parent but not yet run
//! at the time of the fork are not run in the child.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Sender};
use std::time::Duration;

use parking_lot::Mutex;

/// Work for the dispatch thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The running dispatch thread: the process that started it, and its queue.
struct DispatchThread {
    process_id: u32,
    sender: Sender<Job>,
}

/// The dispatch thread of this process, started on first use (and again
/// after a fork).
static DISPATCH: Mutex<Option<DispatchThread>> = Mutex::new(None);

/// Starts the dispatch thread; `None` if the system refused a thread.
fn start() -> Option<DispatchThread> {
    let (sender, receiver) = channel::<Job>();
    std::thread::Builder::new()
        .name("tokenkeep-events".into())
        .spawn(move || {
            while let Ok(job) = receiver.recv() {
                if catch_unwind(AssertUnwindSafe(job)).is_err() {
                    tracing::warn!("an app callback panicked; the event was dropped for it");
                }
            }
        })
        .ok()?;
    Some(DispatchThread {
        process_id: std::process::id(),
        sender,
    })
}

/// The queue of this process's dispatch thread, starting the thread if this
/// process has none yet. The lock is held only to clone the sender.
fn sender() -> Option<Sender<Job>> {
    sender_of(&DISPATCH)
}

/// [`sender`] for the dispatcher kept in `slot`.
fn sender_of(slot: &Mutex<Option<DispatchThread>>) -> Option<Sender<Job>> {
    let mut dispatch = slot.lock();
    let current = std::process::id();
    if dispatch.as_ref().is_none_or(|thread| thread.process_id != current) {
        *dispatch = start();
    }
    dispatch.as_ref().map(|thread| thread.sender.clone())
}

/// Queues `job` for the dispatch thread. If no thread could be started, runs
/// it right here (the caller holds no lock when it queues).
pub(crate) fn queue(job: Job) {
    match sender() {
        Some(sender) => {
            if let Err(returned) = sender.send(job) {
                let _ = catch_unwind(AssertUnwindSafe(returned.0));
            }
        }
        None => {
            let _ = catch_unwind(AssertUnwindSafe(job));
        }
    }
}

/// Waits until every job queued so far has run, at most `timeout`; returns
/// whether they all did.
pub(crate) fn flush(timeout: Duration) -> bool {
    let (done, delivered) = sync_channel::<()>(1);
    let job: Job = Box::new(move || {
        let _ = done.send(());
    });
    let Some(sender) = sender() else {
        return true;
    };
    if sender.send(job).is_err() {
        return true;
    }
    delivered.recv_timeout(timeout).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn jobs_run_in_order_on_one_thread_and_a_panic_is_isolated() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        for n in 0..3 {
            let seen = seen.clone();
            queue(Box::new(move || {
                seen.lock().push((n, std::thread::current().name().map(str::to_owned)));
            }));
            queue(Box::new(|| panic!("a failing callback")));
        }
        assert!(flush(Duration::from_secs(5)));
        let seen = seen.lock();
        assert_eq!(seen.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert!(seen.iter().all(|(_, name)| name.as_deref() == Some("tokenkeep-events")));
    }

    #[test]
    fn a_dispatcher_started_by_another_process_is_replaced() {
        // What a forked child sees: a dispatcher recorded under another pid
        // whose thread is gone (here: never started, its receiver dropped).
        let (orphan, _) = channel::<Job>();
        let slot = Mutex::new(Some(DispatchThread {
            process_id: std::process::id().wrapping_add(1),
            sender: orphan,
        }));
        let (ran, ran_rx) = sync_channel::<()>(1);
        let sender = sender_of(&slot).expect("a new dispatch thread");
        let queued = sender.send(Box::new(move || {
            let _ = ran.send(());
        }));
        assert!(queued.is_ok());
        assert!(ran_rx.recv_timeout(Duration::from_secs(5)).is_ok());
        assert_eq!(slot.lock().as_ref().map(|t| t.process_id), Some(std::process::id()));
    }
}
