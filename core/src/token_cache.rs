//! [`TokenCache`]: the one hook a language layer's token cache needs.
//!
//! Crossing the FFI boundary costs microseconds (see [`TokenLease`]), so a
//! language layer may keep the current access token for the lease's
//! `valid_for_ms` and answer from it without calling the core. The cache
//! then only has to be told when its token stops being the answer. The core
//! calls [`TokenCache::invalidate`] synchronously, on the thread that made
//! the change and before the call that made it returns:
//!
//! * the tokens changed (refreshed, set, signed in, adopted from another
//!   process, logged out);
//! * a refresh failed, or the session ended;
//! * an API rejected the access token (`refresh_if_rejected`).
//!
//! So a language cache is a get/put file with a generation counter: `put`
//! stores a lease only if no invalidation happened since the lease was asked
//! for (a ticket taken before the call), and `invalidate` bumps the counter
//! and forgets the token. Every rule about *when* lives here, once.
//!
//! [`TokenLease`]: crate::TokenLease

use std::sync::Arc;

use parking_lot::RwLock;

/// A language layer's cache of the access token; see the module doc.
#[uniffi::export(with_foreign)]
pub trait TokenCache: Send + Sync {
    /// Forget the cached token: the next request asks the core. Called
    /// synchronously; must be quick and must not call back into the keeper.
    fn invalidate(&self);
}

/// A session's attached cache, if any.
#[derive(Default)]
pub(crate) struct TokenCacheSlot {
    cache: RwLock<Option<Arc<dyn TokenCache>>>,
}

impl TokenCacheSlot {
    /// Attaches `cache` (replacing any other), or detaches with `None`.
    pub(crate) fn attach(&self, cache: Option<Arc<dyn TokenCache>>) {
        let previous = std::mem::replace(&mut *self.cache.write(), cache);
        if let Some(previous) = previous {
            previous.invalidate();
        }
    }

    /// Tells the attached cache its token is no longer the answer.
    pub(crate) fn invalidate(&self) {
        let cache = self.cache.read().clone();
        if let Some(cache) = cache {
            // A foreign implementation that throws must not stop the
            // change that called it; uniffi reports it as a panic here.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.invalidate()));
        }
    }
}
