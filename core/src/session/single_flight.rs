//! At most one refresh per session at a time.
//!
//! With rotating refresh tokens a second concurrent refresh presents a token
//! the first one already spent, and a server with reuse detection ends the
//! session. So this is a correctness property, not an optimisation: however
//! many threads, tasks or coroutines need a refresh, the first starts one
//! task on tokenkeep's runtime and everyone else (including a manual
//! `refresh()`) joins it and receives its result or its error.
//!
//! The slot is held only to look or swap, never across an await. The task
//! clears the slot after it has published its tokens, so a caller arriving
//! afterwards sees the new tokens instead of starting another refresh.
//!
//! After `fork()`: a refresh in flight in the parent at the moment of the
//! fork runs on the parent's runtime, whose threads the child does not have;
//! it never finishes there. So the slot remembers the process that started
//! the refresh, and a slot from another process counts as empty: the child
//! starts its own refresh instead of joining one that cannot end. (Across
//! processes, the store's lock and re-read keep the two from both spending
//! the refresh token, as they do for any two processes.)

use std::future::Future;
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt, Shared};
use parking_lot::Mutex;

use crate::error::Error;
use crate::per_process::current_pid;
use crate::runtime;
use crate::token_set::TokenSet;

/// The outcome every joiner of one refresh receives.
pub(crate) type RefreshOutcome = Result<Arc<TokenSet>, Error>;

/// A refresh in flight that any number of callers can await.
pub(crate) type SharedRefresh = Shared<BoxFuture<'static, RefreshOutcome>>;

/// Holds the refresh in flight, if any.
#[derive(Default)]
pub(crate) struct SingleFlight {
    in_flight: Mutex<Option<InFlight>>,
}

/// A refresh and the process that started it.
struct InFlight {
    pid: u32,
    refresh: SharedRefresh,
}

impl SingleFlight {
    /// Joins the refresh in flight, or starts `start()` on the runtime.
    /// `start` receives a guard it must drop once it has published its
    /// result.
    pub(crate) fn join_or_start<F, Fut>(self: &Arc<Self>, start: F) -> SharedRefresh
    where
        F: FnOnce(FinishGuard) -> Fut,
        Fut: Future<Output = RefreshOutcome> + Send + 'static,
    {
        self.join_or_start_as(current_pid(), start)
    }

    /// [`SingleFlight::join_or_start`] as if the process id were `pid`.
    fn join_or_start_as<F, Fut>(self: &Arc<Self>, pid: u32, start: F) -> SharedRefresh
    where
        F: FnOnce(FinishGuard) -> Fut,
        Fut: Future<Output = RefreshOutcome> + Send + 'static,
    {
        let mut slot = self.in_flight.lock();
        match slot.take() {
            Some(mine) if mine.pid == pid => {
                let refresh = mine.refresh.clone();
                *slot = Some(mine);
                return refresh;
            }
            // The parent's refresh, inherited through fork(): it cannot finish
            // here. Leaked, not dropped: dropping a shared future takes its
            // waker lock, which a parent thread may have held at the fork.
            Some(inherited) => std::mem::forget(inherited),
            None => {}
        }
        let work = start(FinishGuard { flight: self.clone() });
        let refresh = runtime::spawn(work).boxed().shared();
        *slot = Some(InFlight {
            pid,
            refresh: refresh.clone(),
        });
        refresh
    }

    /// Whether a refresh of this process is in flight.
    pub(crate) fn is_active(&self) -> bool {
        self.is_active_as(current_pid())
    }

    fn is_active_as(&self, pid: u32) -> bool {
        self.in_flight.lock().as_ref().is_some_and(|f| f.pid == pid)
    }
}

/// Clears the in-flight slot when the refresh is done (also if its task
/// panics, through `Drop`).
pub(crate) struct FinishGuard {
    flight: Arc<SingleFlight>,
}

impl Drop for FinishGuard {
    fn drop(&mut self) {
        self.flight.in_flight.lock().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn concurrent_callers_share_one_run() {
        let flight = Arc::new(SingleFlight::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut joined = Vec::new();
        for _ in 0..50 {
            let runs = runs.clone();
            joined.push(flight.join_or_start(move |guard| async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                drop(guard);
                Ok(Arc::new(TokenSet::bearer("at", None, None, None, 0)))
            }));
        }
        assert!(flight.is_active());
        let results = futures::executor::block_on(futures::future::join_all(joined));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(results
            .iter()
            .all(|r| r.as_ref().map(|t| t.access_token() == "at").unwrap_or(false)));
        assert!(!flight.is_active());
    }

    /// A refresh the parent had in flight when it forked never finishes in
    /// the child; the child must start its own instead of joining it.
    #[test]
    fn a_refresh_in_flight_in_another_process_is_not_joined() {
        let flight = Arc::new(SingleFlight::default());
        let parent = 1;
        let child = 2;
        let (_kept_pending, never) = futures::channel::oneshot::channel::<()>();
        let inherited = flight.join_or_start_as(parent, move |guard| async move {
            let _ = never.await;
            drop(guard);
            Err(Error::internal("the parent's refresh"))
        });
        assert!(flight.is_active_as(parent));
        assert!(!flight.is_active_as(child), "the parent's refresh is not the child's");

        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let own = flight.join_or_start_as(child, move |guard| async move {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(guard);
            Ok(Arc::new(TokenSet::bearer("child", None, None, None, 0)))
        });
        let tokens = futures::executor::block_on(own).expect("the child's own refresh");
        assert_eq!(tokens.access_token(), "child");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(!flight.is_active_as(child), "the child's refresh cleared the slot");
        assert!(
            futures::FutureExt::now_or_never(inherited).is_none(),
            "the parent's never ends"
        );
    }
}
