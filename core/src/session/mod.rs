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
//! One concept a file:
//!
//! * [`fresh_path`]: answering a caller without waiting, when possible
//!   (the phase decisions are the state module's `admit`).
//! * [`refresh_requests`]: the ways a refresh is asked for, all joining one.
//! * [`single_flight`]: at most one refresh at a time, per process.
//! * [`refresh`]: one refresh, attempt by attempt, under the store lock.
//! * [`store_sync`]: the store lock, re-reading, adopting and publishing
//!   (every write of tokens).
//! * [`account_lock`]: the in-process half of the account's lock.
//! * [`unsaved`]: tokens that could not be stored, and storing them later.
//! * [`backoff`]: spacing background attempts after failures.
//! * [`logout`]: forgetting locally, then revoking.
//! * [`sign_in`]: authorization code and device sign-in.
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
//! next occasion (see [`unsaved`]).

mod account_lock;
pub(crate) mod authorized;
mod backoff;
mod fresh_path;
mod logout;
mod proactive;
mod refresh;
mod refresh_requests;
mod sign_in;
mod single_flight;
mod store_sync;
mod unsaved;

use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{TokenKeeperOptions, ValidatedConfig};
use crate::endpoint::TokenEndpoint;
use crate::error::Error;
use crate::listener::{Listeners, SessionListener};
use crate::policy::RefreshPolicy;
use crate::secret::Secret;
use crate::state::{observe, Phase, SessionState};
use crate::store::{record, MemoryStore, TokenStore};
use crate::token_cache::TokenCacheSlot;
use crate::token_set::TokenSet;

use backoff::Backoff;
use single_flight::SingleFlight;

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
    /// The store is the memory store made for this session (none was
    /// given): nobody else sees it, and its calls never block.
    private_memory_store: bool,
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
    /// How many times this session adopted tokens another one stored (a
    /// sweep tells "refreshed here" from "refreshed elsewhere" by it).
    adoptions: AtomicU64,
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
        let config = ValidatedConfig::check(&options)?.shared();
        let TokenKeeperOptions {
            client_secret,
            policy,
            store,
            listener,
            clock,
            ..
        } = options;
        let clock = clock.map_or(Clock::System, Clock::Manual);
        let private_memory_store = store.is_none();
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
            private_memory_store,
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
            adoptions: AtomicU64::new(0),
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

    /// How many times this session adopted tokens another session stored.
    pub(crate) fn adoptions(&self) -> u64 {
        self.adoptions.load(std::sync::atomic::Ordering::SeqCst)
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
}

impl Drop for Session {
    /// A last attempt to store tokens held only in memory (the app should
    /// call `flush` at shutdown; this covers the keeper simply dropped).
    fn drop(&mut self) {
        if self.current.get_mut().unsaved.is_some() {
            if let Err(error) = self.store_unsaved(unsaved::LAST_CHANCE_LOCK_TIMEOUT_MS) {
                tracing::error!(account = %self.account, %error, "tokens held only in memory were lost with the session: they could not be stored");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fresh_path::Lookup;
    use super::*;
    use crate::clock::ManualClock;
    use crate::listener::ChangeReason;

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
