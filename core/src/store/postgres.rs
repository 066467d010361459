//! [`PostgresStore`]: encrypted records in PostgreSQL, shared by many
//! instances of a service, with per-account leases and fenced saves.
//!
//! Where [`SqliteStore`](crate::SqliteStore) serves many accounts on one
//! machine, this store serves a fleet: every instance opens the same
//! database, and any of them can refresh any account. The design sketch
//! (`DESIGN.md`, "Backends and fleets") asks for three things, and this
//! module is how they are kept:
//!
//! 1. **A per-account lease serialises refresh across machines.**
//!    `lock(account, timeout_ms)` takes a row in `tokenkeep_leases`
//!    (holder, expiry) and returns; nothing is held open on the database
//!    while the session sends its refresh request. A lease runs out on its
//!    own after [`PostgresSettings::lease_ms`] (45 s by default), so an
//!    instance that dies, hangs or loses its network does not block the
//!    account for longer than that: another instance then takes the lease.
//! 2. **Every save is a compare-and-set (fencing).** A save succeeds only
//!    if the saver still holds an unexpired lease on the account *and* the
//!    record's generation (see `record.rs`) is newer than the stored one.
//!    An instance whose lease ran out mid-refresh (a long GC pause, a slow
//!    server) gets a [`StoreError::LockTimeout`] from its late save; the
//!    session treats it like any failed save: the new tokens stay in memory,
//!    nothing in the database is overwritten, and the newer tokens another
//!    instance stored stand.
//! 3. **No transaction spans an HTTP call, and an absent database costs
//!    refreshes, not tokens.** Every call is one short statement (or one
//!    short transaction at open) with a bounded wait. When PostgreSQL is
//!    down or slow, `lock` fails within its timeout (`Io` or
//!    `LockTimeout`), the session reports the refresh as `Transient`, valid
//!    tokens are still served from memory, and the next call after the
//!    database returns works: the pool drops closed connections and opens
//!    new ones.
//!
//! # Leases, fencing and their SQL
//!
//! Taking a lease is one upsert that only replaces an expired lease; the
//! database's clock decides expiry, so the instances' clocks do not have to
//! agree:
//!
//! ```sql
//! INSERT INTO tokenkeep_leases (account, holder, expires_at)
//! VALUES ($account, $holder, clock_timestamp() + $lease_ms * interval '1 millisecond')
//! ON CONFLICT (account) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
//! WHERE tokenkeep_leases.expires_at <= clock_timestamp()
//! RETURNING holder;   -- a row: the lease is ours; none: someone holds it, retry until the timeout
//! ```
//!
//! `$holder` is random for every `lock` call (a fencing token), so even two
//! sessions of one process are told apart. A save checks the lease and the
//! generation in the same statement, and share-locks the lease row, so a
//! new holder cannot take the lease between the check and the write; it
//! takes it after the save commits, and then reads what was saved:
//!
//! ```sql
//! WITH lease AS (SELECT 1 FROM tokenkeep_leases
//!                WHERE account = $account AND holder = $holder AND expires_at > clock_timestamp()
//!                FOR SHARE)
//! INSERT INTO tokenkeep_records (...) SELECT ... FROM lease
//! ON CONFLICT (account) DO UPDATE SET ...
//! WHERE tokenkeep_records.generation < EXCLUDED.generation
//!    OR (tokenkeep_records.generation = EXCLUDED.generation AND $rewrites_marker);
//! ```
//!
//! One exception to "strictly newer": the session rewrites its current
//! record, same generation and same tokens, to add the refresh-in-flight
//! marker just before it sends a refresh (see `record.rs`). That rewrite is
//! accepted at an equal generation (still only under the saver's lease); a
//! record without the marker needs a strictly newer generation.
//!
//! `unlock` deletes the lease row if it is still the caller's. A save with
//! no lease at all is refused (`Failed`: call `lock` first); `delete` under
//! a lease is fenced like a save, and without one deletes unconditionally
//! (an admin's choice).
//!
//! **The lease must outlast a refresh.** Keep `lease_ms` above the policy's
//! `request_timeout_ms` (30 s by default) plus the store calls made under it
//! (the default, 45 s, allows three of `io_timeout_ms`, 5 s): a lease
//! shorter than a slow refresh lets a second instance refresh too, and with
//! rotating refresh tokens one of the two loses the session. Fencing keeps
//! the database consistent either way; only the lease keeps the server from
//! seeing two refreshes.
//!
//! **The same scheme on Redis** (a later store) maps one to one: the lease
//! is `SET tokenkeep:lease:{account} $holder NX PX $lease_ms` (retried until
//! the timeout), `unlock` a Lua script that deletes the key only if its value
//! is still `$holder`, and a save a Lua script that, atomically, checks
//! `GET lease == $holder` (an expired key is gone, so an expired lease fails
//! the check) and that the stored generation (a field of the record's hash)
//! is lower, then writes the record and its metadata fields. The database's
//! clock is Redis's own expiry.
//!
//! # Schema and migrations
//!
//! ```sql
//! CREATE TABLE tokenkeep_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL);
//! CREATE TABLE tokenkeep_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);     -- passphrase_salt
//! CREATE TABLE tokenkeep_records (
//!     account               TEXT PRIMARY KEY,  -- the store key (account id), in clear
//!     record                BYTEA NOT NULL,    -- sealed (envelope.rs), bound to `account`
//!     generation            BIGINT,            -- from the record: the fencing compare-and-set
//!     access_expires_at_ms  BIGINT,            -- access-token expiry (ms, the session's clock)
//!     refresh_expires_at_ms BIGINT,            -- refresh-token expiry, when known
//!     refreshed_at_ms       BIGINT,            -- when the tokens were received (last refresh)
//!     updated_at            TIMESTAMPTZ NOT NULL  -- the database's clock at the last save
//! );  -- indexed on the three expiry/refresh columns and updated_at, for purges and sweeps
//! CREATE TABLE tokenkeep_leases (account TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
//! ```
//!
//! Migrations run at open, in one transaction under
//! `pg_advisory_xact_lock`, so two instances starting at once do not race:
//! the second waits, then finds nothing left to do. A database migrated by
//! a newer tokenkeep is refused with a message saying so. The metadata
//! columns are not secret but are readable without the key, as are the
//! account ids. Records are sealed exactly as the file and SQLite stores
//! seal them (`sealed.rs`), so keys, passphrases, `WrongKey`/`Corrupt`
//! errors and key rotation behave the same.
//!
//! # Connections, TLS, runtime
//!
//! The connection string is libpq's (`postgresql://user:password@host:5432/db?sslmode=require`
//! or `host=… user=… sslmode=…`). `sslmode=disable` for a loopback
//! database; `require` uses TLS through rustls and, unlike libpq's
//! `require`, verifies the server's certificate and name against the
//! system's root certificates. The password never appears in an error, a
//! log line or `Debug`, which show `postgresql://user@host:port/db`.
//!
//! A bounded pool (deadpool-postgres, [`PostgresSettings::max_connections`])
//! runs on a small tokio runtime of the PostgreSQL stores' own (one worker
//! thread), so that the store's blocking calls can be made from any thread,
//! tokenkeep's runtime included. Every call waits at most
//! [`PostgresSettings::io_timeout_ms`] (a `lock` about its own timeout: the
//! last attempt gets at least 200 ms). After `fork()` (gunicorn
//! `--preload`, Celery prefork) the runtime and the pool are rebuilt in the
//! child on its first call (`per_process.rs`): the parent's connections are
//! left to the parent. (No test forks here: the workspace forbids `unsafe`;
//! a binding's test suite is where a fork test belongs.)
//!
//! ```no_run
//! use tokenkeep::{PostgresStore, TokenKeeper, TokenKeeperOptions};
//! # fn key_from_vault() -> Vec<u8> { vec![0; 32] }
//! # fn database_url_from_vault() -> String { String::new() }
//! let store = PostgresStore::open(database_url_from_vault(), key_from_vault(), None)?;
//! let keeper = TokenKeeper::new(TokenKeeperOptions {
//!     account_id: "user-42".into(),
//!     store: Some(store.clone().as_token_store()),
//!     ..TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-service")
//! })?;
//! let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
//! let purged = store.purge_refresh_expired(now_ms)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod};
use parking_lot::Mutex;
use rand::rngs::OsRng;
use rand::RngCore;
use tokio::runtime::{Handle, Runtime};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;
use zeroize::Zeroizing;

use super::record;
use super::sealed::{passphrase_key, AccountLocks, Medium, SealedStore, Slot};
use super::store_key::{StoreKey, PASSPHRASE_SALT_LEN};
use super::{lock_wait, DueQuery, StoreError, TokenStore};
use crate::error::TokenKeepError;
use crate::per_process::PerProcess;

/// The newest schema this tokenkeep migrates to (`tokenkeep_schema.version`).
pub(crate) const SCHEMA_VERSION: i32 = 1;
/// The key of the advisory lock migrations take (`"tokenkeep"` as bytes).
const MIGRATION_LOCK: i64 = 0x746f_6b65_6e6b_6565;
/// The first pause between attempts to take a held lease.
const FIRST_PAUSE: Duration = Duration::from_millis(2);
/// The longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Schema migrations, in order: `(version, SQL)`. Never edit a released
/// one; add the next.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "
    CREATE TABLE tokenkeep_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
    CREATE TABLE tokenkeep_records (
        account TEXT PRIMARY KEY,
        record BYTEA NOT NULL,
        generation BIGINT,
        access_expires_at_ms BIGINT,
        refresh_expires_at_ms BIGINT,
        refreshed_at_ms BIGINT,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX tokenkeep_records_access_expires ON tokenkeep_records (access_expires_at_ms);
    CREATE INDEX tokenkeep_records_refresh_expires ON tokenkeep_records (refresh_expires_at_ms)
        WHERE refresh_expires_at_ms IS NOT NULL;
    CREATE INDEX tokenkeep_records_refreshed_at ON tokenkeep_records (refreshed_at_ms);
    CREATE INDEX tokenkeep_records_updated_at ON tokenkeep_records (updated_at);
    CREATE TABLE tokenkeep_leases (
        account TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    ",
)];

/// The sweep's first query: refresh tokens expiring by `$1`, keyset-paged
/// (`$2` is the same bound, unused here but typed alike in both queries).
const DUE_BY_REFRESH_EXPIRY: &str = "
    SELECT refresh_expires_at_ms, account FROM tokenkeep_records
    WHERE refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= $1 AND $2::BIGINT IS NOT NULL
      AND (refresh_expires_at_ms, account) > ($3, $4)
    ORDER BY refresh_expires_at_ms, account LIMIT $5";
/// The sweep's second query: tokens received at or before `$1` that the
/// first query (bound `$2`) did not list.
const DUE_BY_LAST_REFRESH: &str = "
    SELECT refreshed_at_ms, account FROM tokenkeep_records
    WHERE refreshed_at_ms IS NOT NULL AND refreshed_at_ms <= $1
      AND NOT (refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= $2)
      AND (refreshed_at_ms, account) > ($3, $4)
    ORDER BY refreshed_at_ms, account LIMIT $5";

const TAKE_LEASE: &str = "
    INSERT INTO tokenkeep_leases (account, holder, expires_at)
    VALUES ($1, $2, clock_timestamp() + $3::bigint * interval '1 millisecond')
    ON CONFLICT (account) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
    WHERE tokenkeep_leases.expires_at <= clock_timestamp()
    RETURNING holder";
const RELEASE_LEASE: &str = "DELETE FROM tokenkeep_leases WHERE account = $1 AND holder = $2";
const HELD_LEASE: &str = "SELECT 1 FROM tokenkeep_leases
    WHERE account = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE";
const FENCED_SAVE: &str = "
    WITH lease AS (SELECT 1 FROM tokenkeep_leases
                   WHERE account = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE)
    INSERT INTO tokenkeep_records
        (account, record, generation, access_expires_at_ms, refresh_expires_at_ms, refreshed_at_ms, updated_at)
    SELECT $1, $3, $4, $5, $6, $7, now() FROM lease
    ON CONFLICT (account) DO UPDATE SET
        record = EXCLUDED.record,
        generation = EXCLUDED.generation,
        access_expires_at_ms = EXCLUDED.access_expires_at_ms,
        refresh_expires_at_ms = EXCLUDED.refresh_expires_at_ms,
        refreshed_at_ms = EXCLUDED.refreshed_at_ms,
        updated_at = EXCLUDED.updated_at
    WHERE tokenkeep_records.generation IS NULL OR EXCLUDED.generation IS NULL
       OR tokenkeep_records.generation < EXCLUDED.generation
       OR (tokenkeep_records.generation = EXCLUDED.generation AND $8)";
const FENCED_RESEAL: &str = "
    WITH lease AS (SELECT 1 FROM tokenkeep_leases
                   WHERE account = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE)
    UPDATE tokenkeep_records SET record = $3 WHERE account = $1 AND EXISTS (SELECT 1 FROM lease)";
const FENCED_DELETE: &str = "
    WITH lease AS (SELECT 1 FROM tokenkeep_leases
                   WHERE account = $1 AND holder = $2 AND expires_at > clock_timestamp() FOR SHARE)
    DELETE FROM tokenkeep_records WHERE account = $1 AND EXISTS (SELECT 1 FROM lease)";
const REFRESH_EXPIRED: &str = "refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= $1";
const UNUSED_SINCE: &str = "updated_at < to_timestamp($1::bigint / 1000.0)";

/// How a [`PostgresStore`] uses its database; every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PostgresSettings {
    /// How long a lease on an account lasts once taken, in milliseconds:
    /// the longest another instance waits when a holder dies. Keep it above
    /// the policy's `request_timeout_ms` plus three `io_timeout_ms` (the
    /// re-read, the refresh-in-flight marker and the save under the lease).
    /// Default 45 000 (30 s + 3 × 5 s, the defaults).
    #[uniffi(default = 45000)]
    pub lease_ms: i64,
    /// The most connections this store opens at once. Default 4.
    #[uniffi(default = 4)]
    pub max_connections: i64,
    /// The longest wait for one database call (a connection, a query), in
    /// milliseconds; `lock` waits at most its own timeout. Default 5 000.
    #[uniffi(default = 5000)]
    pub io_timeout_ms: i64,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        PostgresSettings {
            lease_ms: 45_000,
            max_connections: 4,
            io_timeout_ms: 5_000,
        }
    }
}

/// A [`TokenStore`] keeping every account's record in PostgreSQL, shared by
/// many instances of a service.
///
/// One row per account (the account id and expiry metadata in clear, the
/// record sealed with XChaCha20-Poly1305 and bound to it), per-account
/// leases that serialise refresh across instances without holding a
/// transaction across the HTTP call, and saves fenced by the lease and the
/// record's generation, so an instance whose lease ran out never overwrites
/// newer tokens. Admin calls list accounts, purge dead or unused sessions
/// and rotate the key. Hand it to a session with
/// [`as_token_store`](PostgresStore::as_token_store).
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct PostgresStore {
    sealed: SealedStore<Database, Database>,
}

#[uniffi::export]
impl PostgresStore {
    /// Connects to the database at `url` (a libpq connection string; use
    /// `sslmode=require` across a network) with a 32-byte key, creating or
    /// migrating tokenkeep's tables. `settings`: `None` for the defaults.
    #[uniffi::constructor(default(settings = None))]
    pub fn open(url: String, key: Vec<u8>, settings: Option<PostgresSettings>) -> Result<Arc<Self>, TokenKeepError> {
        let key = StoreKey::from_bytes(&Zeroizing::new(key))?;
        let url = Zeroizing::new(url);
        let db = Database::open(&url, settings.unwrap_or_default())?;
        Ok(Arc::new(PostgresStore {
            sealed: SealedStore::with_locks(db.clone(), key, db),
        }))
    }

    /// Like [`PostgresStore::open`], with a key derived from `passphrase`
    /// (Argon2id, with a random salt kept in the database). Takes tens of
    /// milliseconds, on purpose.
    #[uniffi::constructor(default(settings = None))]
    pub fn open_with_passphrase(
        url: String,
        passphrase: String,
        settings: Option<PostgresSettings>,
    ) -> Result<Arc<Self>, TokenKeepError> {
        let passphrase = Zeroizing::new(passphrase);
        let url = Zeroizing::new(url);
        let db = Database::open(&url, settings.unwrap_or_default())?;
        let key = passphrase_key(&db, &passphrase)?;
        Ok(Arc::new(PostgresStore {
            sealed: SealedStore::with_locks(db.clone(), key, db),
        }))
    }

    /// Every account id with a record, sorted.
    pub fn accounts(&self) -> Result<Vec<String>, TokenKeepError> {
        Ok(self.sealed.medium().accounts()?)
    }

    /// Deletes the records whose refresh token expired at or before
    /// `now_unix_ms` (those sessions can only sign in again); returns how
    /// many. Records without a refresh token expiry, and records whose lease
    /// an instance holds right now, are kept.
    pub fn purge_refresh_expired(&self, now_unix_ms: i64) -> Result<i64, TokenKeepError> {
        Ok(self.purge(REFRESH_EXPIRED, now_unix_ms)?)
    }

    /// Deletes the records not written since `unix_ms` (the database's
    /// clock); returns how many. Records whose lease an instance holds right
    /// now are kept.
    pub fn purge_unused_since(&self, unix_ms: i64) -> Result<i64, TokenKeepError> {
        Ok(self.purge(UNUSED_SINCE, unix_ms)?)
    }

    /// Re-encrypts every record under `new_key` (32 bytes), each under its
    /// account's lease, and uses it from now on; returns how many records
    /// were re-encrypted. If a record does not open with the current key,
    /// nothing changes and the error names it. Rotate while no other
    /// instance uses the database, then open it everywhere with the new key.
    pub fn rotate_key(&self, new_key: Vec<u8>) -> Result<i64, TokenKeepError> {
        Ok(self.sealed.rotate_key(new_key)?)
    }

    /// Like [`PostgresStore::rotate_key`], to a key derived from
    /// `new_passphrase` with this database's salt.
    pub fn rotate_passphrase(&self, new_passphrase: String) -> Result<i64, TokenKeepError> {
        Ok(self.sealed.rotate_passphrase(new_passphrase)?)
    }

    /// The id of the key records are written with (16 hex digits, safe to log).
    pub fn key_id(&self) -> String {
        self.sealed.key_id()
    }

    /// The database, as `postgresql://user@host:port/dbname` (no password).
    pub fn location(&self) -> String {
        self.sealed.medium().0.location.clone()
    }

    /// This store as a [`TokenStore`], for [`TokenKeeperOptions::store`](crate::TokenKeeperOptions::store).
    pub fn as_token_store(self: Arc<Self>) -> Arc<dyn TokenStore> {
        self
    }
}

impl PostgresStore {
    /// One page of a keep-alive sweep's candidates (see `crate::sweep`):
    /// `(key, account)` pairs after `after`, in key order, at most `limit`.
    /// The key is the refresh token's expiry for
    /// [`DueQuery::RefreshExpiringBy`], the time the tokens were received
    /// for [`DueQuery::NotWrittenSince`]; both from an index.
    pub(crate) fn due_page(
        &self,
        query: DueQuery,
        after: &(i64, String),
        limit: u32,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let (sql, at, by) = match query {
            DueQuery::RefreshExpiringBy(by) => (DUE_BY_REFRESH_EXPIRY, by, by),
            DueQuery::NotWrittenSince {
                since,
                refresh_expiring_by,
            } => (DUE_BY_LAST_REFRESH, since, refresh_expiring_by),
        };
        let (after_key, after_account) = after.clone();
        let limit = i64::from(limit);
        self.sealed
            .medium()
            .call("list the accounts a sweep should refresh", move |client| async move {
                let rows = client
                    .query(sql, &[&at, &by, &after_key, &after_account, &limit])
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok::<_, tokio_postgres::Error>((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?))
                    })
                    .collect()
            })
    }

    /// Deletes the rows matching `condition` (SQL with `$1`), skipping
    /// accounts whose lease is held: a session is using them right now.
    fn purge(&self, condition: &str, at: i64) -> Result<i64, StoreError> {
        let db = self.sealed.medium();
        let select = format!("SELECT account FROM tokenkeep_records WHERE {condition} ORDER BY account");
        let candidates: Vec<String> = db.call("list the records to purge", move |client| async move {
            let rows = client.query(&select, &[&at]).await?;
            rows.iter().map(|row| row.try_get(0)).collect()
        })?;
        let delete = Arc::new(format!(
            "WITH lease AS (SELECT 1 FROM tokenkeep_leases WHERE account = $2 AND holder = $3 AND expires_at > clock_timestamp() FOR SHARE) \
             DELETE FROM tokenkeep_records WHERE account = $2 AND EXISTS (SELECT 1 FROM lease) AND {condition}"
        ));
        let mut purged = 0i64;
        for account in candidates {
            let slot = Slot::of(&account);
            let lease = match db.lock_slot(&slot, Duration::ZERO, &format!("key `{account}`")) {
                Ok(lease) => lease,
                Err(StoreError::LockTimeout { .. }) => continue,
                Err(e) => return Err(e),
            };
            let holder = lease.holder.clone();
            let delete = delete.clone();
            let deleted = db.call(
                &format!("purge the record of account `{account}`"),
                move |client| async move { client.execute(delete.as_str(), &[&at, &account, &holder]).await },
            )?;
            purged += i64::from(deleted > 0);
        }
        if purged > 0 {
            tracing::info!(database = %db.0.location, purged, "purged token records");
        }
        Ok(purged)
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.sealed.medium().0.location)
            .field("key_id", &self.key_id())
            .field("lease_ms", &self.sealed.medium().0.settings.lease_ms)
            .finish()
    }
}

super::sealed::token_store_over_sealed!(PostgresStore);

/// The runtime every PostgreSQL store's connections run on: its own, so
/// that a blocking store call never waits for a task on the thread it
/// blocks (tokenkeep's runtime calls stores from its worker threads).
/// Rebuilt in a forked child, like the pools (see `per_process.rs`).
static RUNTIME: PerProcess<Result<Runtime, String>> = PerProcess::new();

fn build_runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tokenkeep-postgres")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// This process's PostgreSQL runtime.
fn runtime() -> Result<Handle, StoreError> {
    RUNTIME.with(build_runtime, |built| match built {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(StoreError::Failed {
            detail: format!("could not start the PostgreSQL store's runtime: {e}"),
        }),
    })
}

/// The database: a pool, the leases this handle holds, and how to name it.
#[derive(Clone)]
pub(crate) struct Database(Arc<Inner>);

pub(crate) struct Inner {
    /// What a pool is built from (the password is in `config`: never shown).
    config: Config,
    tls: Option<MakeRustlsConnect>,
    /// This process's pool: a forked child builds its own.
    pools: PerProcess<Result<Pool, String>>,
    settings: PostgresSettings,
    /// `postgresql://user@host:port/dbname`: no password.
    location: String,
    /// The account ids whose lease this handle holds, with the holder token.
    held: Mutex<HashMap<String, String>>,
}

/// A lease taken for an admin task; released when dropped.
pub(crate) struct LeaseGuard {
    db: Database,
    account: String,
    holder: String,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.db.0.held.lock().remove(&self.account);
        if let Err(e) = self.db.release(&self.account, &self.holder) {
            tracing::debug!(account = %self.account, error = %e, "could not release an admin lease; it runs out on its own");
        }
    }
}

/// A database error, worded without the connection string.
fn db_error(doing: &str, location: &str, error: &tokio_postgres::Error) -> StoreError {
    let detail = match error.as_db_error() {
        Some(db) => format!(
            "could not {doing} in PostgreSQL {location}: {} ({})",
            db.message(),
            db.code().code()
        ),
        None => format!("could not {doing} in PostgreSQL {location}: {}", with_sources(error)),
    };
    StoreError::Io { detail }
}

/// `error` and the errors it wraps ("error performing TLS handshake: server
/// does not support TLS"); none of them holds the connection string.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text = format!("{text}: {inner_text}");
        }
        source = inner.source();
    }
    text
}

impl Database {
    fn open(url: &str, settings: PostgresSettings) -> Result<Self, StoreError> {
        let config = Config::from_str(url).map_err(|e| StoreError::Failed {
            detail: format!(
                "the PostgreSQL connection string is not valid ({e}); give a libpq URL such as postgresql://user@host:5432/db?sslmode=require"
            ),
        })?;
        if settings.lease_ms < 1 || settings.io_timeout_ms < 1 || settings.max_connections < 1 {
            return Err(StoreError::Failed {
                detail: format!(
                    "PostgresSettings must be positive (lease_ms {}, io_timeout_ms {}, max_connections {}); leave them at their defaults if unsure",
                    settings.lease_ms, settings.io_timeout_ms, settings.max_connections
                ),
            });
        }
        let location = location_of(&config);
        let mut config = config;
        let io_timeout = lock_wait(settings.io_timeout_ms);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(io_timeout);
        }
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => None,
            _ => Some(tls_connector(&location)?),
        };
        let db = Database(Arc::new(Inner {
            config,
            tls,
            pools: PerProcess::new(),
            settings,
            location,
            held: Mutex::new(HashMap::new()),
        }));
        db.migrate()?;
        Ok(db)
    }

    /// This process's pool, built on first use in each process.
    fn pool(&self) -> Result<Pool, StoreError> {
        self.0.pools.with(
            || self.build_pool(),
            |built| match built {
                Ok(pool) => Ok(pool.clone()),
                Err(e) => Err(StoreError::Failed {
                    detail: format!(
                        "could not set up the connection pool for PostgreSQL {}: {e}",
                        self.0.location
                    ),
                }),
            },
        )
    }

    fn build_pool(&self) -> Result<Pool, String> {
        let manager_config = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let config = self.0.config.clone();
        let manager = match &self.0.tls {
            None => Manager::from_config(config, tokio_postgres::NoTls, manager_config()),
            Some(tls) => Manager::from_config(config, tls.clone(), manager_config()),
        };
        let io_timeout = lock_wait(self.0.settings.io_timeout_ms);
        Pool::builder(manager)
            .max_size(usize::try_from(self.0.settings.max_connections).unwrap_or(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(io_timeout))
            .create_timeout(Some(io_timeout))
            .recycle_timeout(Some(io_timeout))
            .build()
            .map_err(|e| e.to_string())
    }

    /// Runs `work` with a pooled connection on the store's runtime and
    /// waits for it, at most `timeout`. `doing` names it in errors.
    fn call_within<T, F, Fut>(&self, doing: &str, timeout: Duration, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        let db = self.clone();
        let doing_owned = doing.to_owned();
        self.run(timeout, doing, async move {
            let client = db.pool()?.get().await.map_err(|e| StoreError::Io {
                detail: format!(
                    "could not connect to PostgreSQL {} to {doing_owned}: {}",
                    db.0.location,
                    pool_error(&e)
                ),
            })?;
            work(client)
                .await
                .map_err(|e| db_error(&doing_owned, &db.0.location, &e))
        })
    }

    /// [`Database::call_within`] the store's I/O timeout.
    fn call<T, F, Fut>(&self, doing: &str, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        self.call_within(doing, lock_wait(self.0.settings.io_timeout_ms), work)
    }

    /// Runs `future` on the store's runtime, cancelled after `timeout`, and
    /// waits for it on this thread.
    fn run<T: Send + 'static>(
        &self,
        timeout: Duration,
        doing: &str,
        future: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let runtime = runtime()?;
        let (done, outcome) = sync_channel(1);
        runtime.spawn(async move {
            let _ = done.send(tokio::time::timeout(timeout, future).await);
        });
        // The task times itself out; the margin only matters if the
        // runtime's thread is gone (a forked child): the wait stays bounded.
        match outcome.recv_timeout(timeout + Duration::from_secs(1)) {
            Ok(Ok(result)) => result,
            Ok(Err(_)) | Err(RecvTimeoutError::Timeout) => Err(StoreError::Io {
                detail: format!(
                    "PostgreSQL {} did not answer within {} ms while trying to {doing}; is it up and reachable?",
                    self.0.location,
                    timeout.as_millis()
                ),
            }),
            Err(RecvTimeoutError::Disconnected) => Err(StoreError::Failed {
                detail: format!("the PostgreSQL store's runtime stopped while trying to {doing}"),
            }),
        }
    }

    /// Creates or migrates the tables, under an advisory lock.
    fn migrate(&self) -> Result<(), StoreError> {
        let location = self.0.location.clone();
        let newer = self.call("create or migrate tokenkeep's tables", move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS tokenkeep_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await?;
            let current: Option<i32> = tx.query_one("SELECT max(version) FROM tokenkeep_schema", &[]).await?.try_get(0)?;
            let current = current.unwrap_or(0);
            if current > SCHEMA_VERSION {
                return Ok(Some(current));
            }
            for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
                tx.batch_execute(sql).await?;
                tx.execute("INSERT INTO tokenkeep_schema (version) VALUES ($1)", &[version]).await?;
            }
            tx.commit().await?;
            Ok(None)
        })?;
        if let Some(version) = newer {
            return Err(StoreError::Failed {
                detail: format!(
                    "the tokenkeep tables in PostgreSQL {location} have schema version {version}, written by a newer tokenkeep (this one knows up to {SCHEMA_VERSION}); upgrade tokenkeep"
                ),
            });
        }
        Ok(())
    }

    /// Every account with a record, sorted.
    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.call("list the accounts", |client| async move {
            let rows = client
                .query("SELECT account FROM tokenkeep_records ORDER BY account", &[])
                .await?;
            rows.iter().map(|row| row.try_get(0)).collect()
        })
    }

    /// Tries once to take the lease on `account` as `holder`.
    fn try_take(&self, account: &str, holder: &str, timeout: Duration) -> Result<bool, StoreError> {
        let (account, holder, lease_ms) = (account.to_owned(), holder.to_owned(), self.0.settings.lease_ms);
        self.call_within(
            &format!("take the lease on key `{account}`"),
            timeout,
            move |client| async move {
                Ok(!client
                    .query(TAKE_LEASE, &[&account, &holder, &lease_ms])
                    .await?
                    .is_empty())
            },
        )
    }

    /// Takes the lease on `account`, waiting at most `timeout`; returns the
    /// holder token.
    fn take_lease(&self, account: &str, timeout: Duration) -> Result<String, StoreError> {
        let holder = format!(
            "{:032x}",
            u128::from(OsRng.next_u64()) << 64 | u128::from(OsRng.next_u64())
        );
        let started = Instant::now();
        let deadline = started + timeout;
        let mut pause = FIRST_PAUSE;
        loop {
            // At least a moment for the query itself, even with no wait.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(200))
                .min(lock_wait(self.0.settings.io_timeout_ms));
            let taken = self.try_take(account, &holder, left).inspect_err(|_| {
                // The attempt may still reach the database and take the
                // lease after we gave up: release it then, if we can (else
                // it runs out after lease_ms, like a dead holder's).
                self.release_in_background(account, &holder);
            })?;
            if taken {
                return Ok(holder);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::LockTimeout {
                    detail: format!(
                        "waited {} ms for the lease on key `{account}` in PostgreSQL {}; another instance or session holds it (a lease lasts at most {} ms)",
                        started.elapsed().as_millis(),
                        self.0.location,
                        self.0.settings.lease_ms
                    ),
                });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// Releases the lease `holder` may have on `account`, without waiting
    /// (for at most one lease time).
    fn release_in_background(&self, account: &str, holder: &str) {
        let Ok(runtime) = runtime() else {
            return;
        };
        let (db, account, holder) = (self.clone(), account.to_owned(), holder.to_owned());
        runtime.spawn(async move {
            let release = async {
                let client = db.pool().ok()?.get().await.ok()?;
                client.execute(RELEASE_LEASE, &[&account, &holder]).await.ok()
            };
            let _ = tokio::time::timeout(lock_wait(db.0.settings.lease_ms), release).await;
        });
    }

    fn release(&self, account: &str, holder: &str) -> Result<(), StoreError> {
        let (account, holder) = (account.to_owned(), holder.to_owned());
        self.call(
            &format!("release the lease on key `{account}`"),
            move |client| async move { client.execute(RELEASE_LEASE, &[&account, &holder]).await.map(drop) },
        )
    }

    /// The holder token of this handle's lease on `account`, if it holds one.
    fn holder_of(&self, account: &str) -> Option<String> {
        self.0.held.lock().get(account).cloned()
    }

    /// Why a fenced write of `account` as `holder` changed nothing.
    fn refusal(&self, account: &str, holder: &str, generation: Option<i64>) -> StoreError {
        let (account_owned, holder) = (account.to_owned(), holder.to_owned());
        let looked = self.call("check the lease", move |client| async move {
            let lease = client
                .query_opt(HELD_LEASE, &[&account_owned, &holder])
                .await?
                .is_some();
            let stored: Option<Option<i64>> = client
                .query_opt(
                    "SELECT generation FROM tokenkeep_records WHERE account = $1",
                    &[&account_owned],
                )
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
            Ok((lease, stored))
        });
        match looked {
            Ok((false, _)) => StoreError::LockTimeout {
                detail: format!(
                    "the save of key `{account}` was refused: this instance's lease on it ran out (after {} ms) or was taken over by another instance, which may have stored newer tokens; nothing was overwritten",
                    self.0.settings.lease_ms
                ),
            },
            Ok((true, stored)) => StoreError::Failed {
                detail: format!(
                    "the save of key `{account}` was refused: the stored record has generation {}, not older than this one ({}); nothing was overwritten",
                    stored.flatten().map_or_else(|| "?".into(), |g| g.to_string()),
                    generation.map_or_else(|| "?".into(), |g| g.to_string())
                ),
            },
            Err(e) => e,
        }
    }
}

impl AccountLocks for Database {
    type SlotGuard = LeaseGuard;

    fn lock(&self, account: &str, timeout_ms: i64) -> Result<(), StoreError> {
        let holder = self.take_lease(account, lock_wait(timeout_ms))?;
        self.0.held.lock().insert(account.to_owned(), holder);
        Ok(())
    }

    fn unlock(&self, account: &str) -> Result<(), StoreError> {
        let Some(holder) = self.0.held.lock().remove(account) else {
            return Ok(());
        };
        self.release(account, &holder)
    }

    fn lock_slot(&self, slot: &Slot, timeout: Duration, _what: &str) -> Result<LeaseGuard, StoreError> {
        let account = account_of(slot).to_owned();
        let holder = self.take_lease(&account, timeout)?;
        self.0.held.lock().insert(account.clone(), holder.clone());
        Ok(LeaseGuard {
            db: self.clone(),
            account,
            holder,
        })
    }
}

impl Medium for Database {
    fn read(&self, slot: &Slot) -> Result<Option<Vec<u8>>, StoreError> {
        let account = account_of(slot).to_owned();
        self.call(
            &format!("load the record of account `{account}`"),
            move |client| async move {
                client
                    .query_opt("SELECT record FROM tokenkeep_records WHERE account = $1", &[&account])
                    .await?
                    .map(|row| row.try_get(0))
                    .transpose()
            },
        )
    }

    fn write(&self, slot: &Slot, sealed: &[u8], record: &[u8]) -> Result<(), StoreError> {
        let account = account_of(slot).to_owned();
        let Some(holder) = self.holder_of(&account) else {
            return Err(StoreError::Failed {
                detail: format!(
                    "the PostgreSQL store saves a record only under its account's lease: call lock(`{account}`) before save (sessions do)"
                ),
            });
        };
        let metadata = record::peek_metadata(record);
        let generation = metadata.map(|m| i64::try_from(m.generation).unwrap_or(i64::MAX));
        let access = metadata.and_then(|m| m.access_token_expires_at_ms);
        let refresh = metadata.and_then(|m| m.refresh_token_expires_at_ms);
        let received = metadata.and_then(|m| m.received_at_ms);
        let marker = metadata.is_some_and(|m| m.refresh_in_flight);
        let sealed = sealed.to_vec();
        let (a, h) = (account.clone(), holder.clone());
        let written = self.call(
            &format!("save the record of account `{account}`"),
            move |client| async move {
                client
                    .execute(
                        FENCED_SAVE,
                        &[&a, &h, &sealed, &generation, &access, &refresh, &received, &marker],
                    )
                    .await
            },
        )?;
        if written == 0 {
            return Err(self.refusal(&account, &holder, generation));
        }
        Ok(())
    }

    fn reseal(&self, slot: &Slot, sealed: &[u8]) -> Result<(), StoreError> {
        let account = account_of(slot).to_owned();
        let Some(holder) = self.holder_of(&account) else {
            return Err(StoreError::Failed {
                detail: format!("re-encrypting the record of account `{account}` needs its lease"),
            });
        };
        let sealed = sealed.to_vec();
        let (a, h) = (account.clone(), holder.clone());
        let written = self.call(
            &format!("re-encrypt the record of account `{account}`"),
            move |client| async move { client.execute(FENCED_RESEAL, &[&a, &h, &sealed]).await },
        )?;
        match written {
            0 => match self.refusal(&account, &holder, None) {
                lost @ StoreError::LockTimeout { .. } => Err(lost),
                _ => Ok(()), // deleted meanwhile
            },
            _ => Ok(()),
        }
    }

    fn delete(&self, slot: &Slot) -> Result<(), StoreError> {
        let account = account_of(slot).to_owned();
        let doing = format!("delete the record of account `{account}`");
        match self.holder_of(&account) {
            None => self
                .call(&doing, move |client| async move {
                    client
                        .execute("DELETE FROM tokenkeep_records WHERE account = $1", &[&account])
                        .await
                })
                .map(drop),
            Some(holder) => {
                let (a, h) = (account.clone(), holder.clone());
                let deleted = self.call(&doing, move |client| async move {
                    client.execute(FENCED_DELETE, &[&a, &h]).await
                })?;
                match deleted {
                    0 => match self.refusal(&account, &holder, None) {
                        lost @ StoreError::LockTimeout { .. } => Err(lost),
                        _ => Ok(()), // there was nothing to delete
                    },
                    _ => Ok(()),
                }
            }
        }
    }

    fn slots(&self) -> Result<Vec<Slot>, StoreError> {
        Ok(self.accounts()?.iter().map(|account| Slot::of(account)).collect())
    }

    /// The passphrase salt, created on first use (by whichever instance
    /// gets there first: `ON CONFLICT DO NOTHING`).
    fn passphrase_salt(&self) -> Result<[u8; PASSPHRASE_SALT_LEN], StoreError> {
        let mut fresh = [0u8; PASSPHRASE_SALT_LEN];
        OsRng.fill_bytes(&mut fresh);
        let fresh = fresh.to_vec();
        let salt: Vec<u8> = self.call("read the passphrase salt", move |client| async move {
            client
                .execute(
                    "INSERT INTO tokenkeep_meta (name, value) VALUES ('passphrase_salt', $1) ON CONFLICT (name) DO NOTHING",
                    &[&fresh],
                )
                .await?;
            client
                .query_one("SELECT value FROM tokenkeep_meta WHERE name = 'passphrase_salt'", &[])
                .await?
                .try_get(0)
        })?;
        salt.as_slice().try_into().map_err(|_| StoreError::Corrupt {
            detail: format!(
                "the passphrase salt in PostgreSQL {} is {} bytes, expected {PASSPHRASE_SALT_LEN}",
                self.0.location,
                salt.len()
            ),
        })
    }

    fn describe(&self, slot: &Slot) -> String {
        format!(
            "the record of account `{}` in PostgreSQL {}",
            account_of(slot),
            self.0.location
        )
    }

    fn place(&self) -> &Path {
        Path::new(&self.0.location)
    }
}

/// The account of `slot`: this store lists slots by account id.
fn account_of(slot: &Slot) -> &str {
    slot.account.as_deref().unwrap_or_default()
}

/// A pool error, worded without the connection string.
fn pool_error(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(e) => match e.as_db_error() {
            Some(db) => format!("{} ({})", db.message(), db.code().code()),
            None => with_sources(e),
        },
        deadpool_postgres::PoolError::Timeout(_) => "no connection within the I/O timeout".into(),
        other => other.to_string(),
    }
}

/// `postgresql://user@host:port/dbname`, for messages: never the password.
fn location_of(config: &Config) -> String {
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or_else(|| config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let db = config.get_dbname().unwrap_or_default();
    format!("postgresql://{user}{}/{db}", hosts.join(","))
}

/// TLS through rustls, verifying the server against the system's roots.
fn tls_connector(location: &str) -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(StoreError::Failed {
            detail: format!(
                "no system root certificates found for TLS to PostgreSQL {location}; install the ca-certificates package, or use sslmode=disable for a loopback database"
            ),
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Failed {
            detail: format!("could not set up TLS for PostgreSQL {location}: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_location_never_shows_the_password() {
        let config =
            Config::from_str("postgresql://app:s3cr3t-pw@db.example:6543/tokens?sslmode=require").expect("parses");
        assert_eq!(location_of(&config), "postgresql://app@db.example:6543/tokens");
        let config = Config::from_str("host=10.0.0.1 user=svc password=hunter22 dbname=t").expect("parses");
        assert_eq!(location_of(&config), "postgresql://svc@10.0.0.1/t");
    }

    #[test]
    fn a_bad_connection_string_says_what_to_give_without_the_password() {
        let e = PostgresStore::open(
            "postgresql://app:s3cr3t-pw@db/x?sslmode=sideways".into(),
            vec![1; 32],
            None,
        )
        .expect_err("bad sslmode");
        let text = e.to_string();
        assert!(text.contains("postgresql://user@host"), "{text}");
        assert!(!text.contains("s3cr3t-pw"), "{text}");
        let e = PostgresStore::open(
            "postgresql://127.0.0.1:1/x".into(),
            vec![1; 32],
            Some(PostgresSettings {
                lease_ms: 0,
                ..PostgresSettings::default()
            }),
        )
        .expect_err("zero lease");
        assert!(e.to_string().contains("lease_ms 0"), "{e}");
    }

    #[test]
    fn an_unreachable_database_is_an_io_error_within_the_timeout() {
        let started = Instant::now();
        let e = PostgresStore::open(
            "postgresql://app:s3cr3t-pw@127.0.0.1:1/x?sslmode=disable".into(),
            vec![1; 32],
            Some(PostgresSettings {
                io_timeout_ms: 2_000,
                ..PostgresSettings::default()
            }),
        )
        .expect_err("nothing listens on port 1");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            matches!(&e, TokenKeepError::Storage { kind: crate::StorageErrorKind::Io, detail } if detail.contains("127.0.0.1:1") && !detail.contains("s3cr3t-pw")),
            "{e:?}"
        );
    }
}
