//! Values that belong to the process that built them, rebuilt after `fork()`.
//!
//! `fork()` copies a process's memory but starts the child with one thread:
//! the one that called it. Everything tokenkeep keeps in memory arrives in
//! the child, but the threads behind some of it do not: the tokio runtime's
//! workers, the tasks that drive pooled HTTP connections, a refresh that was
//! in flight. Using such a value in the child waits for threads that do not
//! exist there, forever. This is how gunicorn `--preload`, Celery's prefork
//! pool and Python's `multiprocessing` (fork start method) run code.
//!
//! [`PerProcess`] holds one value together with the id of the process that
//! built it. Asked for the value from another process (a forked child), it
//! builds a new one for this process. There is no `pthread_atfork` hook
//! (the workspace forbids `unsafe`); comparing [`std::process::id`] with the
//! builder's id on use finds a fork just as well, and lazily.
//!
//! The inherited value is **leaked on purpose** (`std::mem::forget`), never
//! dropped in the child: dropping a tokio runtime joins its worker threads,
//! and dropping a connection pool or a shared future may take locks that a
//! parent thread held at the moment of the fork. Neither finishes in a
//! child, where those threads do not exist. A leak per fork is a few
//! kilobytes; a hang is a dead worker process.
//!
//! The same pid tag, without the rebuilding, marks other state that a
//! parent thread may own at fork time: the single-flight slot of a refresh
//! in flight, a memory store's lock on an account ([`current_pid`]).
//!
//! One limit no library can lift: a lock that a parent thread held at the
//! very instant of the fork stays held in the child. tokenkeep holds its
//! locks for a few instructions (never across I/O), so the window is tiny.

use parking_lot::Mutex;

/// The id of the process running now (changes in a forked child).
pub(crate) fn current_pid() -> u32 {
    std::process::id()
}

/// A value owned by one process: rebuilt, not reused, in a forked child.
pub(crate) struct PerProcess<T> {
    slot: Mutex<Option<Owned<T>>>,
}

struct Owned<T> {
    pid: u32,
    value: T,
}

impl<T> PerProcess<T> {
    /// Empty: the value is built on first use.
    pub(crate) const fn new() -> Self {
        PerProcess { slot: Mutex::new(None) }
    }

    /// Runs `with` on this process's value, building it with `build` first
    /// if there is none or the one there was built by another process.
    pub(crate) fn with<R>(&self, build: impl FnOnce() -> T, with: impl FnOnce(&mut T) -> R) -> R {
        self.with_as(current_pid(), build, with)
    }

    /// [`PerProcess::with`] as if the process id were `pid` (for tests).
    pub(crate) fn with_as<R>(&self, pid: u32, build: impl FnOnce() -> T, with: impl FnOnce(&mut T) -> R) -> R {
        let mut slot = self.slot.lock();
        if slot.as_ref().is_some_and(|owned| owned.pid != pid) {
            // Built by the parent: its threads are gone. Leaked, see the module doc.
            std::mem::forget(slot.take());
        }
        let owned = slot.get_or_insert_with(|| Owned { pid, value: build() });
        with(&mut owned.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn one_value_per_process_and_the_parents_is_leaked_not_dropped() {
        let cell = PerProcess::new();
        let drops = Arc::new(AtomicUsize::new(0));
        let builds = AtomicUsize::new(0);
        let build = || {
            builds.fetch_add(1, Ordering::SeqCst);
            Counted(drops.clone())
        };
        cell.with_as(100, build, |_| ());
        cell.with_as(100, build, |_| ());
        assert_eq!(builds.load(Ordering::SeqCst), 1, "reused in the same process");

        cell.with_as(101, build, |_| ());
        assert_eq!(builds.load(Ordering::SeqCst), 2, "rebuilt in a forked child");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            0,
            "the parent's value is never dropped in the child"
        );
        cell.with_as(101, build, |_| ());
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_current_process_is_the_default() {
        let cell = PerProcess::new();
        let pid = cell.with(current_pid, |built_in| *built_in);
        assert_eq!(pid, std::process::id());
    }
}
