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

use std::future::Future;
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt, Shared};
use parking_lot::Mutex;

use crate::error::Error;
use crate::runtime;
use crate::token_set::TokenSet;

/// The outcome every joiner of one refresh receives.
pub(crate) type RefreshOutcome = Result<Arc<TokenSet>, Error>;

/// A refresh in flight that any number of callers can await.
pub(crate) type SharedRefresh = Shared<BoxFuture<'static, RefreshOutcome>>;

/// Holds the refresh in flight, if any.
#[derive(Default)]
pub(crate) struct SingleFlight {
    in_flight: Mutex<Option<SharedRefresh>>,
}

impl SingleFlight {
    /// Joins the refresh in flight, or starts `start()` on the runtime.
    /// `start` receives a guard it must call `finish` on once it has
    /// published its result.
    pub(crate) fn join_or_start<F, Fut>(self: &Arc<Self>, start: F) -> SharedRefresh
    where
        F: FnOnce(FinishGuard) -> Fut,
        Fut: Future<Output = RefreshOutcome> + Send + 'static,
    {
        let mut slot = self.in_flight.lock();
        if let Some(refresh) = slot.as_ref() {
            return refresh.clone();
        }
        let work = start(FinishGuard { flight: self.clone() });
        let refresh = runtime::spawn(work).boxed().shared();
        *slot = Some(refresh.clone());
        refresh
    }

    /// Whether a refresh is in flight.
    pub(crate) fn is_active(&self) -> bool {
        self.in_flight.lock().is_some()
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
}
