//! The ways a refresh is asked for, all joining one shared refresh.
//!
//! * [`Session::refresh`]: the app asks for one now; refused without a
//!   request when there is nothing to refresh with.
//! * [`Session::refresh_after_rejection`] / `refresh_after_rejected_token`:
//!   an API answered 401; if the tokens changed since that token was handed
//!   out, the new ones are the answer and nothing is sent.
//! * the fresh-path's expired token (`valid_tokens`) and refresh-ahead
//!   window, and the background refresher.
//!
//! Each goes through [`Session::start_refresh`], which joins the refresh in
//! flight (see `single_flight`) or starts one, carrying the generation the
//! caller judged stale so that a refresh that finished in between is not
//! repeated. The refresh itself, attempt by attempt, is `refresh.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::single_flight::{RefreshOutcome, SharedRefresh};
use super::{proactive, unsaved, Session};
use crate::error::Error;
use crate::secret::Secret;
use crate::state::{refresh_refusal, Phase};
use crate::token_set::{Freshness, TokenSet};

impl Session {
    /// Refreshes now, or joins the refresh in flight. Refuses, changing
    /// nothing, when there is nothing to refresh with; reports tokens that
    /// were refreshed but could not be stored as a storage error (they are
    /// held in memory and served).
    pub(crate) async fn refresh(self: Arc<Self>) -> Result<Arc<TokenSet>, Error> {
        self.refusal_to_refresh()?;
        let tokens = self.clone().start_refresh(None).await?;
        let current = self.current.read();
        match &current.unsaved {
            Some(error) if current.tokens.as_ref().is_some_and(|t| Arc::ptr_eq(t, &tokens)) => {
                Err(unsaved::held_but_not_stored(error))
            }
            _ => Ok(tokens),
        }
    }

    /// Why an explicit `refresh()` cannot be done now, if it cannot.
    fn refusal_to_refresh(&self) -> Result<(), Error> {
        let now = self.clock.now_ms();
        let current = self.current.read();
        if let Some(error) = refresh_refusal(current.phase, current.ended_because.as_deref()) {
            return Err(error);
        }
        let (Phase::Active, Some(tokens), false) = (current.phase, &current.tokens, self.config.client_credentials)
        else {
            return Ok(());
        };
        if !tokens.has_refresh_token() {
            return Err(Error::NotSignedIn {
                detail: "refresh() needs a refresh token, and the server issued none with these tokens; the access token is served until it expires, then sign in again".into(),
            });
        }
        if tokens.refresh_token_expired(now, &self.policy)
            && tokens.freshness(now, &self.policy, 0) != Freshness::Expired
        {
            return Err(Error::SessionEnded {
                detail: "the refresh token expired (its stated lifetime ran out), so it is not sent; the access token is served until it expires, then sign in again".into(),
            });
        }
        Ok(())
    }

    /// After the server rejected `rejected` (HTTP 401): if the tokens have
    /// changed since, use the new ones; otherwise refresh (shared).
    pub(crate) async fn refresh_after_rejection(self: Arc<Self>, rejected: &Arc<TokenSet>) -> RefreshOutcome {
        self.refresh_if_rejected(|current| Arc::ptr_eq(current, rejected)).await
    }

    /// After the server rejected the access token `rejected` (a language
    /// layer's HTTP 401): as [`Self::refresh_after_rejection`], comparing
    /// the token text in constant time.
    pub(crate) async fn refresh_after_rejected_token(self: Arc<Self>, rejected: Secret) -> RefreshOutcome {
        self.token_cache.invalidate();
        self.refresh_if_rejected(|current| current.access_token_secret().constant_time_eq(&rejected))
            .await
    }

    /// Refreshes (joining any refresh in flight) if the current tokens are
    /// the rejected ones; otherwise they changed since the request was sent
    /// and are the answer. The generation seen here goes with the refresh, so
    /// one that finishes between this look and the join is not repeated.
    async fn refresh_if_rejected(self: Arc<Self>, is_rejected: impl Fn(&Arc<TokenSet>) -> bool) -> RefreshOutcome {
        let seen_generation = {
            let current = self.current.read();
            if let Some(error) = refresh_refusal(current.phase, current.ended_because.as_deref()) {
                return Err(error);
            }
            match (&current.tokens, current.phase) {
                (Some(tokens), Phase::Active) if !is_rejected(tokens) => return Ok(tokens.clone()),
                _ => current.generation,
            }
        };
        self.start_refresh(Some(seen_generation)).await
    }

    /// Joins the refresh in flight or starts one. `seen_generation` is the
    /// generation the caller judged stale: if the tokens changed since (a
    /// refresh finished between the caller's look and this call), the new
    /// tokens are the answer and no request is made.
    pub(super) fn start_refresh(self: &Arc<Self>, seen_generation: Option<u64>) -> SharedRefresh {
        self.ensure_proactive_refresher();
        let session = self.clone();
        self.flight.join_or_start(move |finish| async move {
            let outcome = match session.changed_since(seen_generation) {
                Some(tokens) => Ok(tokens),
                None => session.run_refresh().await,
            };
            drop(finish);
            outcome
        })
    }

    /// Starts the background refresher (`proactive_refresh`) if it does not
    /// run in this process: at open, and in a forked child (whose copy of
    /// the parent's refresher died with the parent's runtime threads) at its
    /// first refresh.
    pub(super) fn ensure_proactive_refresher(self: &Arc<Self>) {
        if !self.policy.proactive_refresh {
            return;
        }
        let pid = crate::per_process::current_pid();
        if self.proactive_pid.swap(pid, Ordering::SeqCst) != pid {
            proactive::start(self);
        }
    }

    /// The current tokens, if they changed since `seen_generation` and are
    /// not expired.
    fn changed_since(&self, seen_generation: Option<u64>) -> Option<Arc<TokenSet>> {
        let seen = seen_generation?;
        let now = self.clock.now_ms();
        let current = self.current.read();
        if current.generation == seen || current.phase != Phase::Active {
            return None;
        }
        current
            .tokens
            .clone()
            .filter(|t| t.freshness(now, &self.policy, 0) != Freshness::Expired)
    }

    /// Starts a background refresh inside the refresh-ahead window, unless
    /// recent failures ask to wait.
    pub(super) fn refresh_ahead(self: &Arc<Self>, seen_generation: u64) {
        if self.refresh_backoff.lock().blocked(Instant::now()) {
            return;
        }
        drop(self.start_refresh(Some(seen_generation)));
    }
}
