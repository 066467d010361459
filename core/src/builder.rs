//! [`TokenKeeperBuilder`]: everything a session is made of, set once.
//!
//! The configuration is plain data ([`ClientConfig`], [`RefreshPolicy`]);
//! the secret, the store, the clock and the listeners are given separately so
//! that the config can be printed and shared. `build` checks everything and
//! loads the account's tokens from the store; a bad URL, a missing secret or
//! an unreadable stored record is an error there, not at the first request.
//!
//! ```no_run
//! use tokenkeep::{ClientConfig, TokenKeeperBuilder};
//! let config = ClientConfig::new("https://auth.example.com/oauth/token", "my-app");
//! let keeper = TokenKeeperBuilder::new(config).account_id("user-42".into()).build()?;
//! keeper.set_tokens("at".into(), Some("rt".into()), Some(3600), None)?;
//! let token = keeper.access_token_blocking()?;
//! # Ok::<(), tokenkeep::TokenKeepError>(())
//! ```

use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::{Clock, ManualClock};
use crate::config::ClientConfig;
use crate::error::TokenKeepError;
use crate::keeper::TokenKeeper;
use crate::listener::SessionListener;
use crate::policy::RefreshPolicy;
use crate::secret::Secret;
use crate::session::{Session, SessionParts};
use crate::store::{MemoryStore, TokenStore};

/// The account id used when none is given.
pub const DEFAULT_ACCOUNT_ID: &str = "default";

struct Settings {
    config: ClientConfig,
    account: String,
    client_secret: Option<Secret>,
    policy: RefreshPolicy,
    clock: Clock,
    store: Option<Arc<dyn TokenStore>>,
    listeners: Vec<Arc<dyn SessionListener>>,
}

/// Builds a [`TokenKeeper`]. Each setter returns the builder, so calls chain.
#[derive(uniffi::Object)]
pub struct TokenKeeperBuilder {
    settings: Mutex<Settings>,
}

impl TokenKeeperBuilder {
    fn with(self: Arc<Self>, change: impl FnOnce(&mut Settings)) -> Arc<Self> {
        change(&mut self.settings.lock());
        self
    }
}

#[uniffi::export]
impl TokenKeeperBuilder {
    /// A builder for a session of `config`'s client.
    #[uniffi::constructor]
    pub fn new(config: ClientConfig) -> Arc<Self> {
        Arc::new(TokenKeeperBuilder {
            settings: Mutex::new(Settings {
                config,
                account: DEFAULT_ACCOUNT_ID.to_owned(),
                client_secret: None,
                policy: RefreshPolicy::default(),
                clock: Clock::System,
                store: None,
                listeners: Vec::new(),
            }),
        })
    }

    /// The account this session belongs to: its key in the store.
    pub fn account_id(self: Arc<Self>, account_id: String) -> Arc<Self> {
        self.with(|s| s.account = account_id)
    }

    /// The client secret (confidential clients). Sensitive; never shown.
    pub fn client_secret(self: Arc<Self>, client_secret: String) -> Arc<Self> {
        self.with(|s| s.client_secret = Some(Secret::new(client_secret)))
    }

    /// When to refresh and how to retry (defaults: [`RefreshPolicy::default`]).
    pub fn policy(self: Arc<Self>, policy: RefreshPolicy) -> Arc<Self> {
        self.with(|s| s.policy = policy)
    }

    /// Where tokens are kept (default: a new in-memory store).
    pub fn store(self: Arc<Self>, store: Arc<dyn TokenStore>) -> Arc<Self> {
        self.with(|s| s.store = Some(store))
    }

    /// A manual clock for tests (default: the system clock).
    pub fn manual_clock(self: Arc<Self>, clock: Arc<ManualClock>) -> Arc<Self> {
        self.with(|s| s.clock = Clock::Manual(clock))
    }

    /// A listener for token changes, session expiry and refresh failures.
    pub fn listener(self: Arc<Self>, listener: Arc<dyn SessionListener>) -> Arc<Self> {
        self.with(|s| s.listeners.push(listener))
    }

    /// Checks the configuration, loads the account's tokens from the store
    /// and returns the session.
    pub fn build(&self) -> Result<Arc<TokenKeeper>, TokenKeepError> {
        let settings = self.settings.lock();
        let parts = SessionParts {
            account: settings.account.clone(),
            config: settings.config.clone(),
            client_secret: settings.client_secret.clone(),
            policy: settings.policy.clone(),
            clock: settings.clock.clone(),
            store: settings.store.clone().unwrap_or_else(|| Arc::new(MemoryStore::new())),
            listeners: settings.listeners.clone(),
        };
        let session = Session::open(parts)?;
        Ok(Arc::new(TokenKeeper::new(session)))
    }
}
