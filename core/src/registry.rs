//! [`AccountRegistry`]: many accounts behind one object, for a backend.
//!
//! A service that keeps tokens for thousands of users wants
//! `access_token("user-42")`, not a `TokenKeeper` per user built and kept
//! by hand. The registry holds what every account shares, one options
//! template (server, client, policy, listener), one store and (through
//! the process's shared HTTP clients) one connection pool, and builds a
//! keeper for an account when it is first asked for. It keeps the most
//! recently used keepers, at most `max_hot_sessions` (a least-recently-used
//! list); a keeper pushed out is only forgotten by the registry: its tokens
//! are in the store, and the next call for that account loads them again.
//!
//! Caveats:
//!
//! * A keeper still held by a caller after the registry let it go keeps
//!   working. If the registry builds a second keeper for that account
//!   meanwhile, the two never refresh at once (the core's per-account lock)
//!   and each adopts the other's refreshed tokens from the store.
//! * Without a store in the template the registry gives all its accounts
//!   one shared memory store (tokens are lost when the process exits, but
//!   not when a keeper is pushed out), and can list them.
//! * [`AccountRegistry::accounts`] and [`AccountRegistry::sweep`] need a
//!   store that can list: [`AccountRegistry::new_on_sqlite`],
//!   [`AccountRegistry::new_on_postgres`], or the memory store above. The
//!   encrypted file store cannot (its file names are hashes of the ids).
//! * [`AccountRegistry::sweep`] refreshes the accounts whose refresh token
//!   nears expiry, hot or not (see [`crate::sweep`]).
//!
//! The nearest alternative is a `TokenKeeper` per account, kept by the app:
//! what a handful of accounts needs, and what the registry does for you.
//!
//! ```no_run
//! use tokenkeep::{AccountRegistry, SqliteStore, TokenKeeperOptions};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! # let key = vec![0u8; 32];
//! let store = SqliteStore::open("/var/lib/my-service/tokens.sqlite".into(), key)?;
//! let template = TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-service");
//! let registry = AccountRegistry::new_on_sqlite(template, store, 10_000)?;
//! let token = registry.access_token("user-42".into()).await?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::TokenKeeperOptions;
use crate::error::{Error, TokenKeepError};
use crate::keeper::TokenKeeper;
use crate::store::{MemoryStore, PostgresStore, SqliteStore, TokenStore};
use crate::sweep::{Candidates, SweepOptions, SweepProgress, SweepSummary, SweepTarget};

/// Keeps many accounts' tokens valid with one options template, one store
/// and one connection pool: `access_token(account_id)` for any account, the
/// most recently used sessions kept in memory.
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct AccountRegistry {
    /// The options of every keeper, `account_id` aside; `store` is set.
    template: TokenKeeperOptions,
    /// How the registry lists its accounts (`None`: its store cannot).
    lister: Option<Candidates>,
    hot: Arc<Mutex<Hot>>,
}

/// The hours a blocking sweep may take before its caller stops waiting
/// (the sweep itself runs on).
const BLOCKING_SWEEP_DEADLINE_SECS: u64 = 24 * 3600;

#[uniffi::export]
impl AccountRegistry {
    /// A registry whose keepers are made from `template` (its `account_id`
    /// is ignored; without a `store`, all accounts share one memory store),
    /// keeping at most `max_hot_sessions` keepers in memory (1 or more).
    #[uniffi::constructor]
    pub fn new(template: TokenKeeperOptions, max_hot_sessions: i64) -> Result<Arc<Self>, TokenKeepError> {
        let (template, lister) = match template.store {
            Some(_) => (template, None),
            None => {
                let memory = Arc::new(MemoryStore::new());
                let store: Arc<dyn TokenStore> = memory.clone();
                (
                    TokenKeeperOptions {
                        store: Some(store),
                        ..template
                    },
                    Some(Candidates::Memory(memory)),
                )
            }
        };
        Self::build(template, lister, max_hot_sessions)
    }

    /// A registry over `store` (which can list its accounts). The
    /// template must not name a store of its own.
    #[uniffi::constructor]
    pub fn new_on_sqlite(
        template: TokenKeeperOptions,
        store: Arc<SqliteStore>,
        max_hot_sessions: i64,
    ) -> Result<Arc<Self>, TokenKeepError> {
        if template.store.is_some() {
            return Err(Error::configuration(
                "new_on_sqlite was given a template with a store as well; leave TokenKeeperOptions.store unset",
            )
            .into());
        }
        let template = TokenKeeperOptions {
            store: Some(store.clone().as_token_store()),
            ..template
        };
        Self::build(template, Some(Candidates::Sqlite(store)), max_hot_sessions)
    }

    /// A registry over a PostgreSQL `store`, shared by every instance of a
    /// service. The template must not name a store of its own.
    #[uniffi::constructor]
    pub fn new_on_postgres(
        template: TokenKeeperOptions,
        store: Arc<PostgresStore>,
        max_hot_sessions: i64,
    ) -> Result<Arc<Self>, TokenKeepError> {
        if template.store.is_some() {
            return Err(Error::configuration(
                "new_on_postgres was given a template with a store as well; leave TokenKeeperOptions.store unset",
            )
            .into());
        }
        let template = TokenKeeperOptions {
            store: Some(store.clone().as_token_store()),
            ..template
        };
        Self::build(template, Some(Candidates::Postgres(store)), max_hot_sessions)
    }

    /// The keeper of `account_id`: the one in memory, or a new one loaded
    /// from the store (which then counts as the most recently used).
    pub fn keeper(&self, account_id: String) -> Result<Arc<TokenKeeper>, TokenKeepError> {
        if let Some(keeper) = self.hot.lock().get(&account_id) {
            return Ok(keeper);
        }
        // Built without holding the list: building reads the store.
        let built = TokenKeeper::new(TokenKeeperOptions {
            account_id: account_id.clone(),
            ..self.template.clone()
        })?;
        Ok(self.hot.lock().insert(account_id, built))
    }

    /// A valid access token of `account_id` (refreshing first if needed).
    /// Sensitive: send it, never log it.
    pub async fn access_token(&self, account_id: String) -> Result<String, TokenKeepError> {
        self.keeper(account_id)?.access_token().await
    }

    /// Blocking [`access_token`](Self::access_token).
    pub fn access_token_blocking(&self, account_id: String) -> Result<String, TokenKeepError> {
        self.keeper(account_id)?.access_token_blocking()
    }

    /// Every account id the store holds tokens for, sorted. A `Configuration`
    /// error for a store that cannot list (see the type's docs).
    pub fn accounts(&self) -> Result<Vec<String>, TokenKeepError> {
        match &self.lister {
            Some(Candidates::Sqlite(store)) => store.accounts(),
            Some(Candidates::Postgres(store)) => store.accounts(),
            Some(Candidates::Memory(store)) => Ok(store.keys()),
            None => Err(Error::configuration(
                "this registry's store cannot list its accounts; build the registry with new_on_sqlite or new_on_postgres, or keep the account ids yourself",
            )
            .into()),
        }
    }

    /// Refreshes every account whose refresh token expires within the
    /// options' window (see [`crate::sweep`]): each once, however many
    /// instances sweep the store at once, rate-limited per server.
    /// `progress` is told the counts as they grow. A `Configuration` error
    /// for a bad option or a store that cannot list; a `Transient` or
    /// `Storage` error if the store cannot be read (nothing is lost).
    #[uniffi::method(default(progress = None))]
    pub async fn sweep(
        &self,
        options: SweepOptions,
        progress: Option<Arc<dyn SweepProgress>>,
    ) -> Result<SweepSummary, TokenKeepError> {
        let target = self.sweep_target(&options)?;
        crate::runtime::spawn(crate::sweep::run(target, options, progress))
            .await
            .map_err(Into::into)
    }

    /// Blocking [`sweep`](Self::sweep).
    #[uniffi::method(default(progress = None))]
    pub fn sweep_blocking(
        &self,
        options: SweepOptions,
        progress: Option<Arc<dyn SweepProgress>>,
    ) -> Result<SweepSummary, TokenKeepError> {
        let target = self.sweep_target(&options)?;
        crate::runtime::block_on(
            std::time::Duration::from_secs(BLOCKING_SWEEP_DEADLINE_SECS),
            crate::sweep::run(target, options, progress),
        )
        .map_err(Into::into)
    }

    /// How many keepers the registry holds in memory now.
    pub fn hot_sessions(&self) -> i64 {
        i64::try_from(self.hot.lock().len()).unwrap_or(i64::MAX)
    }
}

impl AccountRegistry {
    /// What a sweep needs; checks the options and that the store can list.
    fn sweep_target(&self, options: &SweepOptions) -> Result<SweepTarget, Error> {
        crate::sweep::check(options)?;
        let candidates = self.lister.clone().ok_or_else(|| {
            Error::configuration(
                "this registry's store cannot list its accounts, so it cannot sweep; build the registry with new_on_sqlite or new_on_postgres",
            )
        })?;
        let hot = self.hot.clone();
        Ok(SweepTarget {
            template: self.template.clone(),
            candidates,
            hot: Box::new(move |account| hot.lock().peek(account).map(|k| k.session().clone())),
        })
    }

    fn build(
        template: TokenKeeperOptions,
        lister: Option<Candidates>,
        max_hot_sessions: i64,
    ) -> Result<Arc<Self>, TokenKeepError> {
        let capacity = usize::try_from(max_hot_sessions)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::configuration(format!(
                    "max_hot_sessions is {max_hot_sessions}; it must be 1 or more (the keepers kept in memory)"
                ))
            })?;
        // The template is checked once here, not at the first account.
        crate::config::ValidatedConfig::check(&template)?;
        template.policy.check()?;
        Ok(Arc::new(AccountRegistry {
            template,
            lister,
            hot: Arc::new(Mutex::new(Hot::new(capacity))),
        }))
    }
}

impl fmt::Debug for AccountRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hot = self.hot.lock();
        f.debug_struct("AccountRegistry")
            .field("token_endpoint", &self.template.token_endpoint)
            .field("client_id", &self.template.client_id)
            .field("hot_sessions", &hot.len())
            .field("max_hot_sessions", &hot.capacity)
            .finish()
    }
}

/// The most recently used keepers: a map by account, and the accounts in
/// order of last use (a counter per use), the oldest first.
struct Hot {
    capacity: usize,
    by_account: HashMap<String, (Arc<TokenKeeper>, u64)>,
    by_use: BTreeMap<u64, String>,
    uses: u64,
}

impl Hot {
    fn new(capacity: usize) -> Self {
        Hot {
            capacity,
            by_account: HashMap::new(),
            by_use: BTreeMap::new(),
            uses: 0,
        }
    }

    fn len(&self) -> usize {
        self.by_account.len()
    }

    /// The keeper of `account`, leaving the order of use as it is.
    fn peek(&self, account: &str) -> Option<&Arc<TokenKeeper>> {
        self.by_account.get(account).map(|(keeper, _)| keeper)
    }

    /// The keeper of `account`, now the most recently used.
    fn get(&mut self, account: &str) -> Option<Arc<TokenKeeper>> {
        self.uses += 1;
        let now = self.uses;
        let (keeper, last_use) = self.by_account.get_mut(account)?;
        let account = self.by_use.remove(last_use)?;
        *last_use = now;
        self.by_use.insert(now, account);
        Some(keeper.clone())
    }

    /// Adds `keeper` for `account` (keeping the one already there, if
    /// another caller built it first) and lets the least recently used go
    /// beyond the capacity. Returns the keeper in the list.
    fn insert(&mut self, account: String, keeper: Arc<TokenKeeper>) -> Arc<TokenKeeper> {
        if let Some(existing) = self.get(&account) {
            return existing;
        }
        self.uses += 1;
        self.by_use.insert(self.uses, account.clone());
        self.by_account.insert(account, (keeper.clone(), self.uses));
        while self.by_account.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.by_account.remove(&oldest);
        }
        keeper
    }
}
