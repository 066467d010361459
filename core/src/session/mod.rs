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
//! * [`refresh`]: one refresh, attempt by attempt, under the store lock.
//! * [`store_sync`]: the store lock, re-reading, publishing, unsaved tokens.
//! * [`proactive`]: the optional background refresher.
//! * [`authorized`]: sending requests with the token, retrying once on 401.
//!
//! What happens on failure: `invalid_grant` ends the session (store record
//! deleted, phase `SessionExpired`, listeners told once); a refresh token
//! known to be past its expiry ends it without a request once the access
//! token has expired (the record is kept: nothing the server refused); every
//! other failure leaves the tokens where they are and is reported to the
//! callers that waited and to the listeners. A refreshed token set that
//! could not be stored is kept in memory, marked unsaved, and stored on the
//! next occasion (see [`store_sync`]).

mod account_lock;
pub(crate) mod authorized;
mod proactive;
mod refresh;
mod sign_in;
mod single_flight;
mod store_sync;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{TokenKeeperOptions, ValidatedConfig};
use crate::endpoint::TokenEndpoint;
use crate::error::Error;
use crate::listener::{ChangeReason, Listeners, SessionListener};
use crate::policy::RefreshPolicy;
use crate::revocation::{LogoutOutcome, TokenRevocation};
use crate::secret::Secret;
use crate::state::{observe, transition, Event, Phase, SessionState};
use crate::store::{record, MemoryStore, TokenStore};
use crate::token_cache::TokenCacheSlot;
use crate::token_set::{Freshness, TokenSet};

use single_flight::{RefreshOutcome, SharedRefresh, SingleFlight};

/// The tokens and phase, swapped as a whole.
struct Current {
    tokens: Option<Arc<TokenSet>>,
    phase: Phase,
    generation: u64,
    /// Set when these tokens are newer than the store's record because
    /// storing them failed (the error): they are stored on the next occasion.
    unsaved: Option<Error>,
    /// Why the session ended, when it did (phase `SessionExpired`).
    ended_because: Option<String>,
}

/// What the fresh-token path found.
enum Lookup {
    /// The answer, without waiting.
    Ready(Result<Arc<TokenSet>, Error>),
    /// A refresh is needed; the tokens looked at had this generation.
    Wait { seen_generation: u64 },
}

/// Spacing of attempts after failures, on the monotonic clock (a wall clock
/// set back must not freeze refreshes).
#[derive(Default)]
struct Backoff {
    failures: u32,
    blocked_until: Option<Instant>,
}

impl Backoff {
    fn blocked(&self, now: Instant) -> bool {
        self.blocked_until.is_some_and(|until| until > now)
    }

    /// Records one more failure, blocking for `pause`.
    fn fail(&mut self, pause: Duration) {
        self.failures = self.failures.saturating_add(1);
        self.blocked_until = Some(instant_after(pause));
    }

    /// Records one more failure in a row, blocking for the policy's pause
    /// after that many failures (or `retry_after_secs`, if longer).
    fn fail_in_a_row(&mut self, policy: &RefreshPolicy, retry_after_secs: Option<u64>) {
        let failures = self.failures.saturating_add(1);
        self.fail(policy.pause_after_failure(failures, retry_after_secs));
    }

    fn remaining(&self) -> Duration {
        self.blocked_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(Instant::now()))
    }
}

/// `now + pause`, saturating at about a century.
fn instant_after(pause: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(pause)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// One account's token lifecycle.
pub(crate) struct Session {
    /// Random, to recognise this session's own refresh marker in the store.
    id: u64,
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
    /// Refresh-ahead and background refreshes after failures.
    refresh_backoff: Mutex<Backoff>,
    /// Retries of storing unsaved tokens.
    save_backoff: Mutex<Backoff>,
    /// The process whose runtime runs the background refresher (0: none).
    /// A forked child starts its own at its first refresh.
    proactive_pid: AtomicU32,
    /// A language layer's token cache, told of every change.
    pub(crate) token_cache: TokenCacheSlot,
}

impl Session {
    /// Checks `options`, loads the account's tokens from the store and
    /// starts the session (and, with `proactive_refresh`, the background
    /// refresher).
    pub(crate) fn open(options: TokenKeeperOptions) -> Result<Arc<Self>, Error> {
        let account = options.account_id.clone();
        if account.is_empty() {
            return Err(Error::configuration("the account id (store key) is empty"));
        }
        options.policy.check()?;
        let config = Arc::new(ValidatedConfig::check(&options)?);
        let TokenKeeperOptions {
            client_secret,
            policy,
            store,
            listener,
            clock,
            ..
        } = options;
        let clock = clock.map_or(Clock::System, Clock::Manual);
        let store: Arc<dyn TokenStore> = store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let endpoint = TokenEndpoint::new(
            config.clone(),
            client_secret.map(Secret::new),
            policy.clone(),
            clock.clone(),
        )?;
        let api_http = authorized::api_client(&policy)?;
        let loaded = store
            .load(account.clone())
            .map_err(|e| Error::from_store(e, format!("could not load the tokens of account `{account}`")))?;
        let (tokens, generation) = match loaded {
            Some(bytes) => {
                let record = record::decode(&bytes, &account)?;
                (Some(Arc::new(record.tokens)), record.generation)
            }
            None => (None, 0),
        };
        let listeners = Listeners::default();
        if let Some(listener) = listener {
            listeners.add(listener);
        }
        let session = Arc::new(Session {
            id: rand::random(),
            account,
            config,
            policy,
            clock,
            endpoint,
            store,
            api_http,
            current: RwLock::new(Current {
                tokens,
                phase: Phase::Active,
                generation,
                unsaved: None,
                ended_because: None,
            }),
            writer: Mutex::new(()),
            flight: Arc::new(SingleFlight::default()),
            listeners,
            wake: Arc::new(Notify::new()),
            refresh_backoff: Mutex::new(Backoff::default()),
            save_backoff: Mutex::new(Backoff::default()),
            proactive_pid: AtomicU32::new(0),
            token_cache: TokenCacheSlot::default(),
        });
        session.ensure_proactive_refresher();
        Ok(session)
    }

    /// After the tokens or the phase changed: wakes the callers waiting for
    /// a refresh and tells the language layer's cache.
    fn tokens_replaced(&self) {
        self.wake.notify_waiters();
        self.token_cache.invalidate();
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

    /// Whether the tokens in memory are newer than the store's record (a
    /// save failed; tokenkeep keeps trying).
    pub(crate) fn has_unsaved_tokens(&self) -> bool {
        self.current.read().unsaved.is_some()
    }

    /// Whether `tokens` can be renewed at `now_ms`: a refresh token not known
    /// to be dead, or the client_credentials grant.
    fn can_renew(&self, tokens: &TokenSet, now_ms: i64) -> bool {
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

    fn lookup(self: &Arc<Self>, min_ttl_ms: i64) -> Lookup {
        let now = self.clock.now_ms();
        let current = self.current.read();
        let wait = Lookup::Wait {
            seen_generation: current.generation,
        };
        if current.unsaved.is_some() {
            self.store_unsaved_soon();
        }
        match current.phase {
            Phase::SessionExpired => Lookup::Ready(Err(ended_error(&current))),
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
                        if self.can_renew(&tokens, now) {
                            self.refresh_ahead(seen_generation);
                        }
                        Lookup::Ready(Ok(tokens))
                    }
                    // Nothing to renew with, and the token still works:
                    // serve it to a caller that asked for more time than it has.
                    Freshness::Expired
                        if !self.can_renew(tokens, now)
                            && tokens.freshness(now, &self.policy, 0) != Freshness::Expired =>
                    {
                        Lookup::Ready(Ok(tokens.clone()))
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
                Err(store_sync::held_but_not_stored(error))
            }
            _ => Ok(tokens),
        }
    }

    /// Why an explicit `refresh()` cannot be done now, if it cannot.
    fn refusal_to_refresh(&self) -> Result<(), Error> {
        let now = self.clock.now_ms();
        let current = self.current.read();
        if current.phase == Phase::SessionExpired {
            return Err(ended_error(&current));
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
            match (&current.tokens, current.phase) {
                (_, Phase::SessionExpired) => return Err(ended_error(&current)),
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
    fn ensure_proactive_refresher(self: &Arc<Self>) {
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
    fn refresh_ahead(self: &Arc<Self>, seen_generation: u64) {
        if self.refresh_backoff.lock().blocked(Instant::now()) {
            return;
        }
        drop(self.start_refresh(Some(seen_generation)));
    }

    /// Hands over tokens the app got elsewhere.
    pub(crate) fn set_tokens(&self, tokens: TokenSet, reason: ChangeReason) -> RefreshOutcome {
        let _lock = self.lock_store()?;
        let next_generation = self.next_generation()?;
        self.publish(tokens, reason, None, next_generation)
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
    /// when a revocation endpoint is configured: the refresh token first,
    /// then the access token (see [`crate::revocation`]). A failed
    /// revocation does not undo the local logout. Waits for the store lock
    /// behind at most one refresh request (a refresh never holds it across
    /// a backoff wait).
    pub(crate) async fn logout(self: Arc<Self>) -> Result<LogoutOutcome, Error> {
        let (old, deleted) = {
            let _lock = self.lock_store()?;
            let _writer = self.writer.lock();
            let old = {
                let mut current = self.current.write();
                current.phase = transition(current.phase, Event::LoggedOut);
                current.generation += 1;
                current.unsaved = None;
                current.tokens.take()
            };
            let deleted = self.store.delete(self.account.clone());
            (old, deleted)
        };
        self.tokens_replaced();
        self.listeners
            .tokens_changed(store_sync::changed(ChangeReason::LoggedOut, None, deleted.is_ok()));
        let outcome = match old.as_deref() {
            Some(tokens) => {
                let refresh_token = match tokens.refresh_token_secret() {
                    Some(rt) => Some(self.endpoint.revoke(rt, "refresh_token").await),
                    None => None,
                };
                let access_token = self.endpoint.revoke(tokens.access_token_secret(), "access_token").await;
                LogoutOutcome::new(refresh_token, Some(access_token))
            }
            None => LogoutOutcome::nothing_sent(),
        };
        for (which, revocation) in [("refresh", &outcome.refresh_token), ("access", &outcome.access_token)] {
            match revocation {
                TokenRevocation::Failed { reason } => {
                    tracing::warn!(account = %self.account, token = which, %reason, "revocation failed; logged out locally")
                }
                TokenRevocation::Unsupported => {
                    tracing::info!(account = %self.account, token = which, "the server cannot revoke this token; it stays valid until it expires")
                }
                _ => {}
            }
        }
        deleted.map_err(|e| {
            Error::from_store(
                e,
                format!(
                    "logged out, but the tokens of account `{}` could not be deleted from the store",
                    self.account
                ),
            )
        })?;
        Ok(outcome)
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
        if !self.can_renew(tokens, now) {
            return None;
        }
        let due = tokens.refresh_due_at_ms(&self.policy)?;
        let blocked_ms = i64::try_from(self.refresh_backoff.lock().remaining().as_millis()).unwrap_or(i64::MAX);
        Some((due.saturating_sub(now).max(blocked_ms), current.generation))
    }
}

impl Drop for Session {
    /// A last attempt to store tokens held only in memory (the app should
    /// call `flush` at shutdown; this covers the keeper simply dropped).
    fn drop(&mut self) {
        if self.current.get_mut().unsaved.is_some() {
            if let Err(error) = self.store_unsaved(store_sync::LAST_CHANCE_LOCK_TIMEOUT_MS) {
                tracing::error!(account = %self.account, %error, "tokens held only in memory were lost with the session: they could not be stored");
            }
        }
    }
}

/// The error of a call made after the session ended.
fn ended_error(current: &Current) -> Error {
    Error::SessionEnded {
        detail: current.ended_because.clone().unwrap_or_else(|| {
            "the session ended earlier (the server rejected the refresh token); sign in again".into()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// A caller judged the token stale, then a refresh finished before the
    /// caller asked for one: its request must be answered with the new tokens,
    /// not with a second refresh. (A race seen once per ~750 expiries in the
    /// 1,000-caller benchmark; made deterministic here.)
    #[test]
    fn a_late_caller_gets_the_finished_refresh_instead_of_starting_another() {
        let server = tokenkeep_fixture_server::spawn(Default::default()).expect("fixture");
        let clock = ManualClock::new();
        let session = Session::open(TokenKeeperOptions {
            account_id: "a".into(),
            client_secret: Some("confidential-secret".into()),
            clock: Some(clock.clone()),
            ..TokenKeeperOptions::new(server.url("/token"), "confidential-app")
        })
        .expect("opens");
        let state = server.state();
        let answer = state.sign_in_tokens("confidential-app").expect("known client");
        let tokens = crate::token_response::parse_token_response(
            answer.as_bytes(),
            &Default::default(),
            clock.now_unix_ms(),
            None,
        )
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
