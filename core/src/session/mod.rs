//! The engine behind a `TokenKeeper`: one account's tokens and their life.
//!
//! A session holds the current [`TokenSet`] behind a read-write lock that the
//! fresh-token path only reads (a few nanoseconds, never blocked by a
//! refresh in flight: a refresh takes the write side only to swap the
//! result in). Everything that changes the tokens goes through one writer
//! mutex, which orders the store write and the swap so the store and memory
//! never disagree, and through a generation counter, so a refresh that
//! finishes after the app set other tokens (or logged out) does not
//! overwrite them.
//!
//! * [`single_flight`]: at most one refresh at a time.
//! * [`proactive`]: the optional background refresher.
//! * [`authorized`]: sending requests with the token, retrying once on 401.
//!
//! What happens on failure: `invalid_grant` ends the session (store record
//! deleted, phase `SessionExpired`, listeners told once); every other
//! failure leaves the tokens where they are and is reported to the callers
//! that waited and to the listeners.

pub(crate) mod authorized;
mod proactive;
mod sign_in;
mod single_flight;
mod store_sync;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{ClientConfig, ValidatedConfig};
use crate::endpoint::TokenEndpoint;
use crate::error::Error;
use crate::listener::{ChangeReason, Listeners, RefreshFailure, SessionListener, TokensChanged};
use crate::policy::RefreshPolicy;
use crate::secret::Secret;
use crate::state::{observe, transition, Event, Phase, SessionState};
use crate::store::{record, TokenStore};
use crate::token_set::{Freshness, TokenSet};
use crate::TokenKeepError;

use single_flight::{RefreshOutcome, SharedRefresh, SingleFlight};
use store_sync::StoreView;

/// What a session is built from.
pub(crate) struct SessionParts {
    pub account: String,
    pub config: ClientConfig,
    pub client_secret: Option<Secret>,
    pub policy: RefreshPolicy,
    pub clock: Clock,
    pub store: Arc<dyn TokenStore>,
    pub listeners: Vec<Arc<dyn SessionListener>>,
}

/// The tokens and phase, swapped as a whole.
struct Current {
    tokens: Option<Arc<TokenSet>>,
    phase: Phase,
    generation: u64,
}

/// What the fresh-token path found.
enum Lookup {
    /// The answer, without waiting.
    Ready(Result<Arc<TokenSet>, Error>),
    /// A refresh is needed; the tokens looked at had this generation.
    Wait { seen_generation: u64 },
}

/// Spacing of refresh-ahead attempts after background failures.
#[derive(Default)]
struct AheadBackoff {
    failures: u32,
    blocked_until_ms: i64,
}

/// One account's token lifecycle.
pub(crate) struct Session {
    account: String,
    config: Arc<ValidatedConfig>,
    policy: RefreshPolicy,
    clock: Clock,
    endpoint: TokenEndpoint,
    store: Arc<dyn TokenStore>,
    api_http: crate::http_client::SharedClient,
    current: RwLock<Current>,
    writer: Mutex<()>,
    flight: Arc<SingleFlight>,
    listeners: Listeners,
    wake: Arc<Notify>,
    ahead_backoff: Mutex<AheadBackoff>,
}

impl Session {
    /// Checks the configuration, loads the account's record from the store
    /// and, with `proactive_refresh`, starts the background refresher.
    pub(crate) fn open(parts: SessionParts) -> Result<Arc<Self>, Error> {
        if parts.account.is_empty() {
            return Err(Error::configuration("the account id (store key) is empty"));
        }
        let config = Arc::new(ValidatedConfig::check(parts.config, parts.client_secret.is_some())?);
        let endpoint = TokenEndpoint::new(
            config.clone(),
            parts.client_secret,
            parts.policy.clone(),
            parts.clock.clone(),
        )?;
        let api_http = authorized::api_client(&parts.policy)?;
        let loaded = parts
            .store
            .load(parts.account.clone())
            .map_err(|e| Error::from_store(e, format!("could not load the tokens of account `{}`", parts.account)))?;
        let current = match loaded {
            Some(bytes) => {
                let record = record::decode(&bytes, &parts.account)?;
                Current {
                    tokens: Some(Arc::new(record.tokens)),
                    phase: Phase::Active,
                    generation: record.generation,
                }
            }
            None => Current {
                tokens: None,
                phase: Phase::Active,
                generation: 0,
            },
        };
        let listeners = Listeners::default();
        for listener in parts.listeners {
            listeners.add(listener);
        }
        let session = Arc::new(Session {
            account: parts.account,
            config,
            policy: parts.policy,
            clock: parts.clock,
            endpoint,
            store: parts.store,
            api_http,
            current: RwLock::new(current),
            writer: Mutex::new(()),
            flight: Arc::new(SingleFlight::default()),
            listeners,
            wake: Arc::new(Notify::new()),
            ahead_backoff: Mutex::new(AheadBackoff::default()),
        });
        if session.policy.proactive_refresh {
            proactive::start(&session);
        }
        Ok(session)
    }

    pub(crate) fn account(&self) -> &str {
        &self.account
    }

    pub(crate) fn add_listener(&self, listener: Arc<dyn SessionListener>) {
        self.listeners.add(listener);
    }

    /// The state callers see now.
    pub(crate) fn state(&self) -> SessionState {
        let now = self.clock.now_ms();
        let current = self.current.read();
        observe(
            current.phase,
            current.tokens.as_deref(),
            self.flight.is_active(),
            now,
            &self.policy,
        )
    }

    /// The current tokens without any network call.
    pub(crate) fn tokens(&self) -> Option<Arc<TokenSet>> {
        self.current.read().tokens.clone()
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

    fn lookup(self: &Arc<Self>, min_ttl_ms: i64) -> Lookup {
        let now = self.clock.now_ms();
        let current = self.current.read();
        let wait = Lookup::Wait {
            seen_generation: current.generation,
        };
        match current.phase {
            Phase::SessionExpired => Lookup::Ready(Err(session_ended())),
            Phase::LoggedOut if !self.config.client_credentials => Lookup::Ready(Err(Error::NotSignedIn {
                detail: "the session was logged out; sign in again".into(),
            })),
            Phase::LoggedOut => wait,
            Phase::Active => match &current.tokens {
                None if self.config.client_credentials => wait,
                None => Lookup::Ready(Err(Error::NotSignedIn {
                    detail: "there are no tokens yet: sign in, or hand tokens over with set_tokens".into(),
                })),
                Some(tokens) => match tokens.freshness(now, &self.policy, min_ttl_ms) {
                    Freshness::Fresh => Lookup::Ready(Ok(tokens.clone())),
                    Freshness::RefreshDue => {
                        let tokens = tokens.clone();
                        let seen_generation = current.generation;
                        drop(current);
                        self.refresh_ahead(now, seen_generation);
                        Lookup::Ready(Ok(tokens))
                    }
                    Freshness::Expired => wait,
                },
            },
        }
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

    /// Refreshes now, or joins the refresh in flight.
    pub(crate) async fn refresh(self: Arc<Self>) -> Result<Arc<TokenSet>, Error> {
        if self.current.read().phase == Phase::SessionExpired {
            return Err(session_ended());
        }
        self.start_refresh(None).await
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
            match (&current.tokens, current.phase) {
                (_, Phase::SessionExpired) => return Err(session_ended()),
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
    fn start_refresh(self: &Arc<Self>, seen_generation: Option<u64>) -> SharedRefresh {
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
    /// recent background failures ask to wait.
    fn refresh_ahead(self: &Arc<Self>, now_ms: i64, seen_generation: u64) {
        if self.ahead_backoff.lock().blocked_until_ms > now_ms {
            return;
        }
        drop(self.start_refresh(Some(seen_generation)));
    }

    /// One refresh, under the store's lock: re-read the store (another
    /// process may have refreshed already), then the grant, then publish or
    /// end the session.
    async fn run_refresh(self: Arc<Self>) -> RefreshOutcome {
        if self.current.read().phase == Phase::SessionExpired {
            return Err(session_ended());
        }
        let lock = self.lock_store()?;
        let (mut tokens, mut generation, phase) = {
            let current = self.current.read();
            (current.tokens.clone(), current.generation, current.phase)
        };
        match self.reread(generation)? {
            StoreView::Unchanged => {}
            StoreView::Newer(record) => {
                let adopted = self.adopt(record);
                let now = self.clock.now_ms();
                if adopted.freshness(now, &self.policy, 0) == Freshness::Fresh {
                    tracing::debug!(account = %self.account, "adopted tokens another process refreshed");
                    return Ok(adopted);
                }
                generation = self.current.read().generation;
                tokens = Some(adopted);
            }
            StoreView::Gone if phase == Phase::Active => {
                let error = Error::SessionEnded {
                    detail: "the tokens were removed from the store by another process (logout or an ended session); sign in again".into(),
                };
                self.end_session(&error, generation, Event::InvalidGrant);
                return Err(error);
            }
            StoreView::Gone => {}
        }
        let uses_refresh_token = phase != Phase::LoggedOut && tokens.as_ref().is_some_and(|t| t.has_refresh_token());
        let outcome = match (&tokens, phase) {
            (Some(current), _) if uses_refresh_token => self
                .endpoint
                .refresh(current)
                .await
                .map(|t| (t, ChangeReason::Refreshed)),
            _ if self.config.client_credentials => self
                .endpoint
                .client_credentials()
                .await
                .map(|t| (t, ChangeReason::Acquired)),
            (Some(_), Phase::Active) => Err(Error::SessionEnded {
                detail: "the access token expired and there is no refresh token to renew it; sign in again".into(),
            }),
            (_, Phase::LoggedOut) => Err(Error::NotSignedIn {
                detail: "the session was logged out; sign in again".into(),
            }),
            _ => Err(Error::NotSignedIn {
                detail: "there are no tokens yet: sign in, or hand tokens over with set_tokens".into(),
            }),
        };
        let result = match outcome {
            Ok((fresh, reason)) => {
                *self.ahead_backoff.lock() = AheadBackoff::default();
                self.publish(fresh, reason, Some(generation))
            }
            Err(error @ Error::InvalidGrant { .. }) if uses_refresh_token => {
                // Before ending the session: did someone rotate the token meanwhile
                // (a process sharing the store without a cross-process lock)?
                if let Ok(StoreView::Newer(record)) = self.reread(generation) {
                    tracing::warn!(account = %self.account, "invalid_grant, but the store holds newer tokens: adopting them");
                    return Ok(self.adopt(record));
                }
                self.end_session(&error, generation, Event::InvalidGrant);
                Err(error)
            }
            Err(error) => {
                self.note_refresh_failure(&error);
                Err(error)
            }
        };
        drop(lock);
        result
    }

    /// Takes a record another process wrote as this session's tokens.
    fn adopt(&self, record: crate::store::record::Record) -> Arc<TokenSet> {
        let tokens = Arc::new(record.tokens);
        {
            let _writer = self.writer.lock();
            let mut current = self.current.write();
            current.phase = transition(current.phase, Event::TokensStored);
            current.tokens = Some(tokens.clone());
            current.generation = record.generation;
        }
        self.wake.notify_waiters();
        self.listeners.tokens_changed(TokensChanged {
            reason: ChangeReason::Adopted,
            expires_at_unix_ms: tokens.expires_at_unix_ms(),
            scope: tokens.scope(),
            has_refresh_token: tokens.has_refresh_token(),
        });
        tokens
    }

    fn note_refresh_failure(&self, error: &Error) {
        let now = self.clock.now_ms();
        {
            let mut backoff = self.ahead_backoff.lock();
            backoff.failures = backoff.failures.saturating_add(1);
            let wait = self.policy.backoff(backoff.failures).as_millis() as i64;
            let wait = error.retry_after_secs().map_or(wait, |s| wait.max(s as i64 * 1000));
            backoff.blocked_until_ms = now + wait;
        }
        tracing::warn!(account = %self.account, %error, "token refresh failed");
        let public = TokenKeepError::from(error.clone());
        self.listeners.refresh_failed(RefreshFailure {
            message: public.to_string(),
            transient: error.is_transient(),
            retry_after_secs: error.retry_after_secs(),
        });
    }

    /// Stores and swaps in `tokens`; the caller holds the store lock. With
    /// `expected_generation` (a refresh), a change made meanwhile wins and
    /// `tokens` are dropped; a failed store write is reported but the tokens
    /// are still used, because the old refresh token is already spent.
    /// Without it (the app handing tokens over), a failed store write is an
    /// error and nothing changes.
    fn publish(&self, tokens: TokenSet, reason: ChangeReason, expected_generation: Option<u64>) -> RefreshOutcome {
        let _writer = self.writer.lock();
        let generation = self.current.read().generation;
        if let Some(expected) = expected_generation {
            if expected != generation {
                tracing::debug!(account = %self.account, "refresh result dropped: the tokens changed while it ran");
                return self.tokens().ok_or_else(|| Error::NotSignedIn {
                    detail: "the session was logged out while a refresh was running".into(),
                });
            }
        }
        let next_generation = self.next_generation(generation);
        let saved = record::encode(&tokens, next_generation, self.clock.now_ms()).and_then(|bytes| {
            self.store
                .save(self.account.clone(), bytes.to_vec())
                .map_err(|e| Error::from_store(e, format!("could not save the tokens of account `{}`", self.account)))
        });
        if let Err(error) = saved {
            if expected_generation.is_none() {
                return Err(error);
            }
            tracing::error!(account = %self.account, %error, "refreshed tokens could not be saved; they are kept in memory");
            self.listeners.refresh_failed(RefreshFailure {
                message: format!(
                    "the tokens were refreshed but could not be saved: {}",
                    TokenKeepError::from(error)
                ),
                transient: true,
                retry_after_secs: None,
            });
        }
        let tokens = Arc::new(tokens);
        {
            let mut current = self.current.write();
            current.phase = transition(current.phase, Event::TokensStored);
            current.tokens = Some(tokens.clone());
            current.generation = next_generation;
        }
        self.wake.notify_waiters();
        self.listeners.tokens_changed(TokensChanged {
            reason,
            expires_at_unix_ms: tokens.expires_at_unix_ms(),
            scope: tokens.scope(),
            has_refresh_token: tokens.has_refresh_token(),
        });
        Ok(tokens)
    }

    /// The session is over (the server answered invalid_grant, or its
    /// record vanished): purge and tell, once. The caller holds the store lock.
    fn end_session(&self, error: &Error, generation: u64, event: Event) {
        let _writer = self.writer.lock();
        {
            let mut current = self.current.write();
            if current.generation != generation || current.phase != Phase::Active {
                return;
            }
            current.phase = transition(current.phase, event);
            current.tokens = None;
            current.generation += 1;
        }
        if let Err(e) = self.store.delete(self.account.clone()) {
            tracing::error!(account = %self.account, error = %e, "could not delete the expired session's tokens from the store");
        }
        self.wake.notify_waiters();
        self.listeners
            .session_expired(TokenKeepError::from(error.clone()).to_string());
    }

    /// Hands over tokens the app got elsewhere.
    pub(crate) fn set_tokens(&self, tokens: TokenSet, reason: ChangeReason) -> RefreshOutcome {
        let _lock = self.lock_store()?;
        self.publish(tokens, reason, None)
    }

    /// The session's refresh policy.
    pub(crate) fn policy(&self) -> &RefreshPolicy {
        &self.policy
    }

    /// The time on this session's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The response mapping this session reads token answers with.
    pub(crate) fn response_mapping(&self) -> &crate::ResponseMapping {
        &self.config.response_mapping
    }

    /// Forgets the tokens (store included) and revokes them at the server
    /// when a revocation endpoint is configured. Returns whether the server
    /// confirmed the revocation; a failed revocation does not undo the
    /// local logout.
    pub(crate) async fn logout(self: Arc<Self>) -> Result<bool, Error> {
        let (old, deleted) = {
            let _lock = self.lock_store()?;
            let _writer = self.writer.lock();
            let old = {
                let mut current = self.current.write();
                current.phase = transition(current.phase, Event::LoggedOut);
                current.generation += 1;
                current.tokens.take()
            };
            let deleted = self.store.delete(self.account.clone());
            (old, deleted)
        };
        self.wake.notify_waiters();
        self.listeners.tokens_changed(TokensChanged {
            reason: ChangeReason::LoggedOut,
            expires_at_unix_ms: None,
            scope: None,
            has_refresh_token: false,
        });
        let revoked = match old.as_deref() {
            Some(tokens) => {
                let (token, hint) = match tokens.refresh_token_secret() {
                    Some(rt) => (rt, "refresh_token"),
                    None => (tokens.access_token_secret(), "access_token"),
                };
                match self.endpoint.revoke(token, hint).await {
                    Ok(revoked) => revoked,
                    Err(error) => {
                        tracing::warn!(account = %self.account, %error, "revocation failed; logged out locally");
                        false
                    }
                }
            }
            None => false,
        };
        deleted.map_err(|e| {
            Error::from_store(
                e,
                format!(
                    "logged out, but the tokens of account `{}` could not be deleted from the store",
                    self.account
                ),
            )
        })?;
        Ok(revoked)
    }

    /// When the proactive refresher should act: `Some((ms, generation))`
    /// until a refresh is due (≤ 0: now), `None` when there is nothing to
    /// refresh.
    fn proactive_due_in_ms(&self) -> Option<(i64, u64)> {
        let now = self.clock.now_ms();
        let current = self.current.read();
        if current.phase != Phase::Active {
            return None;
        }
        let tokens = current.tokens.as_ref()?;
        let due = tokens.refresh_due_at_ms(&self.policy)?;
        let blocked_until = self.ahead_backoff.lock().blocked_until_ms;
        Some((due.max(blocked_until) - now, current.generation))
    }
}

fn session_ended() -> Error {
    Error::SessionEnded {
        detail: "the session ended earlier (the server rejected the refresh token); sign in again".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    /// A caller judged the token stale, then a refresh finished before the
    /// caller asked for one: its request must be answered with the new tokens,
    /// not with a second refresh. (A race seen once per ~750 expiries in the
    /// 1,000-caller benchmark; made deterministic here.)
    #[test]
    fn a_late_caller_gets_the_finished_refresh_instead_of_starting_another() {
        let server = tokenkeep_fixture_server::spawn(Default::default()).expect("fixture");
        let clock = ManualClock::new();
        let session = Session::open(SessionParts {
            account: "a".into(),
            config: ClientConfig::new(server.url("/token"), "confidential-app"),
            client_secret: Some(Secret::new("confidential-secret")),
            policy: RefreshPolicy::default(),
            clock: Clock::Manual(clock.clone()),
            store: Arc::new(MemoryStore::new()),
            listeners: Vec::new(),
        })
        .expect("opens");
        let state = server.state();
        let answer = state.sign_in_tokens("confidential-app").expect("known client");
        let tokens = crate::token_response::parse_token_response(answer.as_bytes(), &Default::default(), 0, None)
            .expect("tokens");
        session.set_tokens(tokens, ChangeReason::Set).expect("set");
        clock.advance_secs(7_200);

        let Lookup::Wait { seen_generation } = session.lookup(0) else {
            panic!("the token is expired")
        };
        crate::runtime::block_on(std::time::Duration::from_secs(30), session.clone().refresh())
            .expect("someone else's refresh");
        let before = state.stats().token_requests.refresh_token;
        let late = futures::executor::block_on(session.start_refresh(Some(seen_generation))).expect("late caller");
        assert_eq!(state.stats().token_requests.refresh_token, before, "no second refresh");
        assert_eq!(late.access_token(), session.tokens().expect("tokens").access_token());
    }
}
