//! The fresh-token path: answering a caller without waiting, when possible.
//!
//! Every call for a token starts here. The session's tokens sit behind a
//! read-write lock that this path only reads (a few nanoseconds, never
//! blocked by a refresh in flight). What it answers, in order:
//!
//! 1. the state module's [`admit`] decides by phase: refuse (session ended,
//!    logged out, never signed in), acquire (client_credentials), or use the
//!    tokens held;
//! 2. by the tokens' freshness at the caller's `min_ttl`: fresh → serve;
//!    inside the refresh-ahead window → serve and start one background
//!    refresh; expired → wait for the one shared refresh (see
//!    `refresh_requests`), except that a token with nothing to renew it
//!    is served while it still works.
//!
//! Tokens held only in memory (a failed save) are queued for storing on
//! the way through.

use std::sync::Arc;

use super::Current;
use super::Session;
use crate::error::Error;
use crate::state::{admit, Admission};
use crate::token_set::{Freshness, TokenSet};

/// What the fresh-token path found.
pub(super) enum Lookup {
    /// The answer, without waiting.
    Ready(Result<Arc<TokenSet>, Error>),
    /// A refresh is needed; the tokens looked at had this generation.
    Wait { seen_generation: u64 },
}

impl Session {
    /// Whether `tokens` can be renewed at `now_ms`: a refresh token not known
    /// to be dead, or the client_credentials grant.
    pub(super) fn can_renew(&self, tokens: &TokenSet, now_ms: i64) -> bool {
        self.config.client_credentials || tokens.has_usable_refresh_token(now_ms, &self.policy)
    }

    /// The fresh-token path: `Some` when the answer is known without waiting
    /// (a usable token, or an error), `None` when the caller must wait for a
    /// refresh. Starts a background refresh inside the refresh-ahead window.
    pub(crate) fn try_fresh(self: &Arc<Self>, min_ttl_ms: i64) -> Option<Result<Arc<TokenSet>, Error>> {
        match self.lookup(min_ttl_ms) {
            Lookup::Ready(answer) => Some(answer),
            Lookup::Wait { .. } => None,
        }
    }

    pub(super) fn lookup(self: &Arc<Self>, min_ttl_ms: i64) -> Lookup {
        let now = self.clock.now_ms();
        let current = self.current.read();
        let wait = Lookup::Wait {
            seen_generation: current.generation,
        };
        if current.unsaved.is_some() {
            self.store_unsaved_soon();
        }
        match (self.admission(&current), &current.tokens) {
            (Admission::Refuse(error), _) => Lookup::Ready(Err(error)),
            (Admission::Acquire, _) | (Admission::UseTokens, None) => wait,
            (Admission::UseTokens, Some(tokens)) => match tokens.freshness(now, &self.policy, min_ttl_ms) {
                Freshness::Fresh => Lookup::Ready(Ok(tokens.clone())),
                Freshness::RefreshDue => {
                    let tokens = tokens.clone();
                    let seen_generation = current.generation;
                    drop(current);
                    if self.can_renew(&tokens, now) {
                        self.refresh_ahead(seen_generation);
                    }
                    Lookup::Ready(Ok(tokens))
                }
                // Nothing to renew with, and the token still works:
                // serve it to a caller that asked for more time than it has.
                Freshness::Expired
                    if !self.can_renew(tokens, now) && tokens.freshness(now, &self.policy, 0) != Freshness::Expired =>
                {
                    Lookup::Ready(Ok(tokens.clone()))
                }
                Freshness::Expired => wait,
            },
        }
    }

    /// What a call that needs tokens may do now (see [`admit`]).
    pub(super) fn admission(&self, current: &Current) -> Admission {
        admit(
            current.phase,
            current.tokens.is_some(),
            self.config.client_credentials,
            current.ended_because.as_deref(),
        )
    }

    /// A token set valid for at least `min_ttl_ms`, refreshing (once, shared)
    /// if needed. If the server only issues shorter-lived tokens, the newest
    /// one is returned.
    pub(crate) async fn valid_tokens(self: Arc<Self>, min_ttl_ms: i64) -> Result<Arc<TokenSet>, Error> {
        match self.lookup(min_ttl_ms) {
            Lookup::Ready(answer) => answer,
            Lookup::Wait { seen_generation } => self.start_refresh(Some(seen_generation)).await,
        }
    }
}
