//! One refresh, attempt by attempt, each under the store lock.
//!
//! An attempt takes the account's store lock, stores tokens left unsaved by
//! an earlier failure, re-reads the record (adopting a strictly newer one
//! another process stored), decides what to send, prepares everything that
//! can be prepared (the generation of the answer, the refresh-in-flight
//! marker in the store), sends **one** request and stores its answer before
//! releasing the lock. A transient failure releases the lock *before*
//! waiting for the next attempt (backoff or `Retry-After`), so a logout, or
//! another session of the account, never waits behind a refresh longer than
//! one request.
//!
//! Decisions, in order:
//!
//! | found under the lock                              | outcome                                                         |
//! |---------------------------------------------------|-----------------------------------------------------------------|
//! | the record is gone (logout or an ended session elsewhere) | the session ends                                        |
//! | a newer record with a fresh access token          | adopted; no request                                             |
//! | another session's attempt failed a moment ago     | its `Transient` error, until its `retry_not_before`             |
//! | a refresh token past its stated expiry            | no request; the session ends once the access token has expired  |
//! | a refresh token                                   | refresh_token grant                                             |
//! | client_credentials configured                     | client_credentials grant                                        |
//!
//! and after the request:
//!
//! | answer                     | outcome                                                                         |
//! |----------------------------|---------------------------------------------------------------------------------|
//! | tokens                     | stored (or kept in memory as unsaved, see `store_sync`) and served              |
//! | `invalid_grant`, or a bare 400/401 (no §5.2 body; `unexplained_refusal_ends_session`) | adopt a newer record if one appeared, else the session ends and the record is deleted; if a refresh-in-flight marker was found, the reason says a refresh was interrupted |
//! | transient (network, 5xx, 429) | marker updated with when to try again; lock released; wait; next attempt     |
//! | anything else              | reported; tokens kept                                                           |

use std::sync::Arc;
use std::time::Duration;

use super::single_flight::RefreshOutcome;
use super::store_sync::StoreView;
use super::Session;
use crate::endpoint::Attempts;
use crate::error::Error;
use crate::listener::{ChangeReason, RefreshFailure};
use crate::state::{admit, refresh_refusal, transition, Admission, Event, Phase};
use crate::store::record::RefreshMarker;
use crate::store::StorageErrorKind;
use crate::token_set::{Freshness, TokenSet};
use crate::TokenKeepError;

/// What one attempt ended with.
enum Step {
    /// The refresh's outcome.
    Done(RefreshOutcome),
    /// Try again after this wait (the store lock is released).
    Retry(Duration),
}

/// What an attempt sends.
enum Grant {
    Refresh(Arc<TokenSet>),
    ClientCredentials,
}

/// Whether ending a session deletes its record.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Record {
    /// The server refused the refresh token: nothing in the record works.
    Delete,
    /// Keep it (already gone, or nothing was refused by the server).
    Keep,
}

impl Session {
    /// Runs attempts until one is final.
    pub(super) async fn run_refresh(self: Arc<Self>) -> RefreshOutcome {
        let mut failures: u32 = 0;
        loop {
            match self.clone().refresh_attempt(&mut failures).await {
                Step::Done(outcome) => return outcome,
                Step::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    async fn refresh_attempt(self: Arc<Self>, failures: &mut u32) -> Step {
        {
            let current = self.current.read();
            if let Some(error) = refresh_refusal(current.phase, current.ended_because.as_deref()) {
                return Step::Done(Err(error));
            }
        }
        // On a shared store, one of the endpoint's refresh slots (see
        // `http_client::refresh_permit`), released before any backoff wait.
        let _slot = match self.private_memory_store {
            true => None,
            false => crate::http_client::refresh_permit(&crate::config::origin_of(&self.config.token_endpoint)).await,
        };
        let lock = match self.lock_store() {
            Ok(lock) => lock,
            Err(error) => return Step::Done(Err(store_unavailable(error))),
        };
        // Unsaved tokens first: they are the newest, and a refresh must not
        // leave the store behind by two generations.
        let _ = self.store_unsaved_locked();
        let (mut tokens, mut generation, phase) = {
            let current = self.current.read();
            (current.tokens.clone(), current.generation, current.phase)
        };
        let view = match self.reread(generation) {
            Ok(view) => view,
            Err(error) => return Step::Done(Err(error)),
        };
        let (stored_generation, found_marker) = match view {
            StoreView::Unchanged {
                stored_generation,
                refresh_in_flight,
            } => (stored_generation, refresh_in_flight),
            StoreView::Newer(record) => {
                let stored = record.generation;
                let marker = record.refresh_in_flight.clone();
                let adopted = self.adopt(record);
                if adopted.freshness(self.clock.now_ms(), &self.policy, 0) == Freshness::Fresh {
                    return Step::Done(Ok(adopted));
                }
                generation = stored;
                tokens = Some(adopted);
                (stored, marker)
            }
            StoreView::Gone if phase == Phase::Active => {
                let error = Error::SessionEnded {
                    detail: "the tokens were removed from the store by another process (logout or an ended session); sign in again".into(),
                };
                self.end_session(&error, generation, Record::Keep);
                return Step::Done(Err(error));
            }
            StoreView::Gone => (0, None),
        };
        let now = self.clock.now_ms();
        if let Some(marker) = found_marker.as_ref().filter(|m| m.session_id != self.id) {
            if let Some(not_before) = marker.retry_not_before_ms.filter(|t| *t > now) {
                let wait_secs = u64::try_from(not_before.saturating_sub(now).saturating_add(999) / 1000).unwrap_or(0);
                return Step::Done(Err(Error::RetryLater {
                    detail: format!(
                        "another session refreshing this account failed a moment ago ({}); it retries on its own",
                        marker.last_failure.as_deref().unwrap_or("a temporary failure")
                    ),
                    retry_after_secs: Some(wait_secs),
                }));
            }
        }

        let grant = match (&tokens, phase) {
            (Some(current), Phase::Active) if current.has_refresh_token() => {
                if current.refresh_token_expired(now, &self.policy) {
                    if current.freshness(now, &self.policy, 0) != Freshness::Expired {
                        // Serve the access token until it expires (see token_set.rs).
                        return Step::Done(Ok(current.clone()));
                    }
                    let error = Error::SessionEnded {
                        detail: "the refresh token expired (its stated lifetime ran out) and so did the access token; sign in again".into(),
                    };
                    self.end_session(&error, generation, Record::Keep);
                    return Step::Done(Err(error));
                }
                Grant::Refresh(current.clone())
            }
            _ if self.config.client_credentials => Grant::ClientCredentials,
            (Some(_), Phase::Active) => {
                return Step::Done(Err(Error::SessionEnded {
                    detail: "the access token expired and there is no refresh token to renew it; sign in again".into(),
                }))
            }
            (tokens, phase) => {
                let refusal = match admit(phase, tokens.is_some(), false, None) {
                    Admission::Refuse(error) => error,
                    other => Error::internal(format!("no grant for a session in phase {phase:?} ({other:?})")),
                };
                return Step::Done(Err(refusal));
            }
        };

        // Prepared before sending, so that only parsing and encoding stand
        // between the server's answer and its durable write.
        let next_generation = stored_generation.max(generation).saturating_add(1);
        // A marker found here (this session's from an attempt that got no
        // answer, or another's that never stored its answer) means the
        // server may already have rotated the stored refresh token.
        let interrupted_earlier = found_marker.is_some();
        let own_marker = found_marker.filter(|m| m.session_id == self.id);
        let started_at_ms = own_marker.as_ref().map_or(now, |m| m.started_at_ms);
        if let (Grant::Refresh(current), None) = (&grant, &own_marker) {
            self.mark_in_flight(current, generation, started_at_ms, None);
        }

        let answer = match &grant {
            Grant::Refresh(current) => self
                .endpoint
                .refresh(current, Attempts::Once)
                .await
                .map(|t| (t, ChangeReason::Refreshed)),
            Grant::ClientCredentials => self
                .endpoint
                .client_credentials(Attempts::Once)
                .await
                .map(|t| (t, ChangeReason::Acquired)),
        };
        let step = match answer {
            Ok((fresh, reason)) => {
                *self.refresh_backoff.lock() = Default::default();
                Step::Done(self.publish(fresh, reason, Some(generation), next_generation))
            }
            Err(error) if matches!(grant, Grant::Refresh(_)) && self.refused_refresh_token(&error) => {
                // Before ending the session: did someone rotate the token meanwhile
                // (a process sharing the store without honouring its lock)?
                if let Ok(StoreView::Newer(record)) = self.reread(generation) {
                    tracing::warn!(account = %self.account, "the refresh token was refused, but the store holds newer tokens: adopting them");
                    return Step::Done(Ok(self.adopt(record)));
                }
                let error = match error {
                    Error::HttpStatus { status, body_hint, .. } => Error::SessionEnded {
                        detail: format!(
                            "the server refused the refresh token without saying why (HTTP {status} {body_hint}); sign in again (if this server answers so for passing trouble, set `unexplained_refusal_ends_session` to false)"
                        ),
                    },
                    error => error,
                };
                let error = if interrupted_earlier {
                    Error::SessionEnded {
                        detail: format!(
                            "a refresh of this account was sent earlier and its answer never stored (the process stopped, or the request failed after reaching the server), so the server may have rotated the refresh token then; it has now refused the stored one ({}); sign in again",
                            error_text(&error)
                        ),
                    }
                } else {
                    error
                };
                self.end_session(&error, generation, Record::Delete);
                Step::Done(Err(error))
            }
            Err(error) if error.is_transient() => {
                *failures = failures.saturating_add(1);
                let wait = self.policy.retry_wait(*failures, error.retry_after_secs());
                let pause =
                    wait.unwrap_or_else(|| self.policy.pause_after_failure(*failures, error.retry_after_secs()));
                if let Grant::Refresh(current) = &grant {
                    self.mark_in_flight(current, generation, started_at_ms, Some((&error, pause)));
                }
                match wait {
                    Some(wait) => {
                        tracing::debug!(account = %self.account, attempt = *failures, wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), %error, "refresh failed; retrying after the wait, without the store lock");
                        Step::Retry(wait)
                    }
                    None => {
                        self.note_refresh_failure(&error);
                        Step::Done(Err(error))
                    }
                }
            }
            Err(error) => {
                self.note_refresh_failure(&error);
                Step::Done(Err(error))
            }
        };
        drop(lock);
        step
    }

    /// Whether `error`, the answer to a refresh_token grant, means the
    /// server refused the refresh token: `invalid_grant` (RFC 6749 §5.2), or
    /// an HTTP 400/401 without a §5.2 error body (as some servers answer
    /// every error), unless `unexplained_refusal_ends_session` is off.
    fn refused_refresh_token(&self, error: &Error) -> bool {
        match error {
            Error::InvalidGrant { .. } => true,
            Error::HttpStatus { status: 400 | 401, .. } => self.config.unexplained_refusal_ends_session,
            _ => false,
        }
    }

    /// Writes the refresh-in-flight marker into the record (same tokens,
    /// same generation). A failure only costs the diagnosis after a crash,
    /// so it is logged, not returned.
    fn mark_in_flight(
        &self,
        tokens: &TokenSet,
        generation: u64,
        started_at_ms: i64,
        failure: Option<(&Error, Duration)>,
    ) {
        let marker = RefreshMarker {
            session_id: self.id,
            started_at_ms,
            retry_not_before_ms: failure.map(|(_, pause)| {
                let pause_ms = i64::try_from(pause.as_millis()).unwrap_or(i64::MAX);
                self.clock.now_ms().saturating_add(pause_ms)
            }),
            last_failure: failure.map(|(error, _)| error_text(error)),
        };
        if let Err(error) = self.write_record(tokens, generation, Some(&marker)) {
            tracing::debug!(account = %self.account, %error, "could not record the refresh in flight in the store");
        }
    }

    /// Spaces background attempts after a failure and tells the listeners.
    fn note_refresh_failure(&self, error: &Error) {
        self.refresh_backoff
            .lock()
            .fail_in_a_row(&self.policy, error.retry_after_secs());
        tracing::warn!(account = %self.account, %error, "token refresh failed");
        self.token_cache.invalidate();
        self.listeners.refresh_failed(RefreshFailure::from(error));
    }

    /// The session is over: forget the tokens (and delete the record with
    /// [`Record::Delete`]) and tell the listeners, once. The caller holds
    /// the store lock. Nothing happens if the tokens changed meanwhile.
    pub(super) fn end_session(&self, error: &Error, generation: u64, record: Record) {
        let _writer = self.writer.lock();
        {
            let mut current = self.current.write();
            if current.generation != generation {
                return;
            }
            let Some(next) = transition(current.phase, Event::Ended) else {
                return;
            };
            current.phase = next;
            current.tokens = None;
            current.generation += 1;
            current.unsaved = None;
            current.ended_because = Some(error_text(error));
        }
        if record == Record::Delete {
            if let Err(e) = self.store.delete(self.account.clone()) {
                tracing::error!(account = %self.account, error = %e, "could not delete the expired session's tokens from the store");
            }
        }
        tracing::warn!(account = %self.account, reason = %error, "the session ended; the user must sign in again");
        self.tokens_replaced();
        self.listeners
            .session_expired(TokenKeepError::from(error.clone()).to_string());
    }
}

/// A refresh that could not take the store's lock because the store is
/// busy or away (`LockTimeout`, `Io`: another process holds the lock for
/// long, a database is down) is a transient failure: the tokens in memory
/// are kept and still served while valid, and a later call tries again.
/// Refreshing without the lock is never an option (see `store_sync`).
fn store_unavailable(error: Error) -> Error {
    match error {
        Error::Storage {
            kind: StorageErrorKind::LockTimeout | StorageErrorKind::Io,
            detail,
        } => Error::RetryLater {
            detail: format!("the token store is busy or unavailable, so the tokens could not be refreshed now ({detail}); the tokens held are kept; try again later"),
            retry_after_secs: None,
        },
        other => other,
    }
}

/// The caller-facing text of `error` without its category prefix.
fn error_text(error: &Error) -> String {
    TokenKeepError::from(error.clone()).detail().to_owned()
}
