//! [`SqliteStore`]: encrypted records in one SQLite database, for a service
//! with many accounts.
//!
//! Where [`EncryptedFileStore`](crate::EncryptedFileStore) suits an app with
//! a handful of accounts, this store suits a service keeping tokens for many
//! users on one machine: one row per account, the account ids listable
//! ([`SqliteStore::accounts`]), and admin purges of dead sessions. SQLite is
//! compiled in (`rusqlite`'s `bundled` feature), so there is nothing to
//! install.
//!
//! # Schema
//!
//! ```sql
//! CREATE TABLE token_records (
//!     account               TEXT PRIMARY KEY,  -- the store key (account id), in clear
//!     record                BLOB NOT NULL,     -- the sealed record (envelope.rs), bound to `account`
//!     generation            INTEGER NOT NULL,  -- from the record, for admin queries
//!     refresh_expires_at_ms INTEGER,           -- when the refresh token expires (NULL: never, or none)
//!     updated_at_ms         INTEGER NOT NULL   -- wall clock of the last save (unix ms)
//! );
//! CREATE INDEX token_records_by_refresh_expiry ON token_records (refresh_expires_at_ms);
//! CREATE INDEX token_records_by_update ON token_records (updated_at_ms);
//! CREATE TABLE store_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
//!     -- format_version, schema_version, passphrase_salt
//! ```
//!
//! # Versions and migrations
//!
//! Two numbers in `store_meta`. `format_version` (1) is what a tokenkeep
//! must understand to use the database at all: a newer one is refused with
//! "upgrade tokenkeep". `schema_version` counts the compatible changes made
//! by migrations since, which an older tokenkeep may ignore: version 2 added
//! the two indexes, which SQLite keeps up to date whoever writes, so a
//! rolling upgrade can run old and new processes on one database. Opening a
//! database runs the migrations it lacks, in one `IMMEDIATE` transaction
//! (two processes opening at once do it once). A database without
//! `schema_version` is at version 1.
//!
//! The indexes serve the admin queries: the purges
//! ([`SqliteStore::purge_refresh_expired`], [`SqliteStore::purge_unused_since`])
//! and the keep-alive sweep's question "whose refresh token expires
//! before …" ([`SqliteStore::accounts_refresh_expiring_by`]), which would
//! otherwise read every row: at 100,000 accounts, a full scan of the sealed
//! records.
//!
//! The record is sealed exactly as the file store seals it; the metadata
//! columns are read from the record before sealing (they are not secret, but
//! they are readable without the key, as are the account ids). A record
//! copied to another account's row fails authentication.
//!
//! # Durability: WAL with `synchronous=FULL`
//!
//! The database runs in WAL mode (readers never wait for the writer) with
//! `synchronous=FULL`: every commit syncs the WAL, so a `save` that returned
//! survives a power cut. `NORMAL` would skip that sync and could, after a
//! power loss, roll the row back to the previous record, whose refresh token
//! the server has already rotated away: presenting it again ends the session
//! (and with reuse detection, revokes the whole token family). A save happens
//! once per token lifetime per account, so the extra fsync costs nothing that
//! matters. Writers that meet a lock retry for `busy_timeout` (30 s).
//!
//! # Connections
//!
//! A small pool: connections are taken from an idle list (or opened when it
//! is empty) for one call and put back, keeping at most four idle. One
//! shared connection behind a mutex would serialise every account's reads in
//! the process; a connection per call would re-open the file and re-read
//! the schema on every load (~10× the cost of the query). Each connection is
//! used by one thread at a time, so the store is `Send + Sync` and safe from
//! any number of threads; past four concurrent callers, extra connections are
//! opened and closed.
//!
//! # Locking: per-account lock files, not SQLite transactions
//!
//! `lock`/`unlock` use advisory lock files in `<database>.locks/` (see
//! `key_lock.rs`), not the database. The session holds the lock across a
//! network refresh; holding a SQLite write transaction that long would
//! serialise every account's refresh across the whole fleet of processes on
//! the database, while per-account locks keep accounts independent. And the
//! kernel releases a lock file's lock when its holder dies, at once (a
//! lease row in the database would block a dead holder's account until its
//! lease ran out). On Unix a lock file exists only while its lock is held
//! (its holder removes it before unlocking, and a locker checks that the
//! file it locked is still the one the path names), so 100,000 accounts
//! leave no 100,000 empty files behind: the directory holds one file per
//! lock held right now, plus one per holder killed while holding, until
//! that account is locked again. `key_lock.rs` explains the protocol and
//! why byte-range locks in one shared file were not chosen.
//!
//! Sealing, keys, locks and rotation are shared with the file store (see
//! `sealed.rs`); this module is only the database.
//!
//! Files: the database (0600, with its `-wal` and `-shm` files, which SQLite
//! creates with the database's mode) and the lock directory (0700).
//!
//! ```no_run
//! use tokenkeep::{SqliteStore, TokenKeeper, TokenKeeperOptions};
//! # fn key_from_vault() -> Vec<u8> { vec![0; 32] }
//! let store = SqliteStore::open("/var/lib/my-service/tokens.sqlite".into(), key_from_vault())?;
//! let keeper = TokenKeeper::new(TokenKeeperOptions {
//!     account_id: "user-42".into(),
//!     store: Some(store.clone().as_token_store()),
//!     ..TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-service")
//! })?;
//! // Nightly: forget sessions that can no longer be refreshed.
//! let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
//! let purged = store.purge_refresh_expired(now_ms)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rand::rngs::OsRng;
use rand::RngCore;
use rusqlite::{named_params, params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use zeroize::Zeroizing;

use super::private_files::{create_private_dir, create_private_file, sync_dir};
use super::record;
use super::sealed::{Medium, SealedStore, Slot};
use super::store_key::{StoreKey, PASSPHRASE_SALT_LEN};
use super::{DueQuery, StoreError, TokenStore};
use crate::error::TokenKeepError;

/// The database layout this tokenkeep writes (`store_meta.format_version`).
const FORMAT_VERSION: i64 = 1;
/// The compatible changes applied (`store_meta.schema_version`; see the
/// module docs): 2 added the indexes of the admin queries.
const SCHEMA_VERSION: i64 = 2;
/// How long a connection waits for other writers before failing. Each write
/// is one fsync'd transaction; on a loaded disk (a backend storing many
/// accounts from several threads while other processes write) a queue of
/// them took more than 5 s and saves failed with "database is locked".
/// Waiting costs nothing but time, and the account itself is guarded by its
/// lock file, not by this.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept for reuse.
const MAX_IDLE_CONNECTIONS: usize = 4;

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS token_records (
        account TEXT PRIMARY KEY,
        record BLOB NOT NULL,
        generation INTEGER NOT NULL,
        refresh_expires_at_ms INTEGER,
        updated_at_ms INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    INSERT OR IGNORE INTO store_meta (name, value) VALUES ('format_version', 1);
";
/// The migrations, in order: `MIGRATIONS[i]` takes `schema_version` from
/// `i + 1` to `i + 2`. Each must be idempotent (another process may have
/// run it before this one saw the new version).
const MIGRATIONS: &[&str] = &["
    CREATE INDEX IF NOT EXISTS token_records_by_refresh_expiry ON token_records (refresh_expires_at_ms);
    CREATE INDEX IF NOT EXISTS token_records_by_update ON token_records (updated_at_ms);
"];
const UPSERT: &str = "
    INSERT INTO token_records (account, record, generation, refresh_expires_at_ms, updated_at_ms)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (account) DO UPDATE SET
        record = excluded.record,
        generation = excluded.generation,
        refresh_expires_at_ms = excluded.refresh_expires_at_ms,
        updated_at_ms = excluded.updated_at_ms";
const REFRESH_EXPIRED: &str = "refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= :at";
const UNUSED_SINCE: &str = "updated_at_ms < :at";
const REFRESH_EXPIRING_BY: &str = "
    SELECT account FROM token_records
    WHERE refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= :at
    ORDER BY refresh_expires_at_ms LIMIT :limit";

/// The sweep's first query: refresh tokens expiring by `:by`, keyset-paged.
const DUE_BY_REFRESH_EXPIRY: &str = "
    SELECT refresh_expires_at_ms, account FROM token_records
    WHERE refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= :at AND :by IS NOT NULL
      AND (refresh_expires_at_ms, account) > (:after_key, :after_account)
    ORDER BY refresh_expires_at_ms, account LIMIT :limit";
/// The sweep's second query: records not written since `:at` that the
/// first query did not list.
const DUE_BY_LAST_WRITE: &str = "
    SELECT updated_at_ms, account FROM token_records
    WHERE updated_at_ms <= :at
      AND NOT (refresh_expires_at_ms IS NOT NULL AND refresh_expires_at_ms <= :by)
      AND (updated_at_ms, account) > (:after_key, :after_account)
    ORDER BY updated_at_ms, account LIMIT :limit";

/// A [`TokenStore`] keeping every account's record in one SQLite database.
///
/// One row per account (the account id in clear, the record sealed with
/// XChaCha20-Poly1305 and bound to it), WAL mode with full sync, a small
/// connection pool safe from any number of threads, and per-account lock
/// files beside the database that hold across processes and die with their
/// holder. Admin calls list accounts, purge dead or unused sessions and
/// rotate the key. Hand it to a session with
/// [`as_token_store`](SqliteStore::as_token_store).
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct SqliteStore {
    sealed: SealedStore<Connections>,
}

#[uniffi::export]
impl SqliteStore {
    /// Opens (creating it, 0600, if missing) the database at `path` with a
    /// 32-byte key, for example random bytes from a secrets manager.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>) -> Result<Arc<Self>, TokenKeepError> {
        let key = StoreKey::from_bytes(&Zeroizing::new(key))?;
        Ok(Arc::new(Self::open_with_key(PathBuf::from(path), key)?))
    }

    /// Opens the database at `path` with a key derived from `passphrase`
    /// (Argon2id, with a random salt kept in the database). Takes tens of
    /// milliseconds, on purpose.
    #[uniffi::constructor]
    pub fn open_with_passphrase(path: String, passphrase: String) -> Result<Arc<Self>, TokenKeepError> {
        let passphrase = Zeroizing::new(passphrase);
        let db = Connections::open(PathBuf::from(path))?;
        let locks = db.locks_directory()?;
        let sealed = SealedStore::with_passphrase(db, &passphrase, locks)?;
        Ok(Arc::new(SqliteStore { sealed }))
    }

    /// Every account id with a record, sorted.
    pub fn accounts(&self) -> Result<Vec<String>, TokenKeepError> {
        Ok(self.sealed.medium().accounts()?)
    }

    /// Deletes the records whose refresh token expired at or before
    /// `now_unix_ms` (those sessions can only sign in again); returns how
    /// many. Records without a refresh token expiry, and records whose lock
    /// a session holds right now, are kept.
    pub fn purge_refresh_expired(&self, now_unix_ms: i64) -> Result<i64, TokenKeepError> {
        Ok(self.purge(REFRESH_EXPIRED, now_unix_ms)?)
    }

    /// The accounts whose refresh token expires at or before `unix_ms`,
    /// soonest first, at most `limit` of them: what a keep-alive sweep
    /// refreshes before those sessions die (ask with a time ahead of now).
    /// Answered from an index, without reading the records.
    pub fn accounts_refresh_expiring_by(&self, unix_ms: i64, limit: u32) -> Result<Vec<String>, TokenKeepError> {
        Ok(self.sealed.medium().with(
            || "list the accounts whose refresh token expires soon".into(),
            |conn| {
                let mut statement = conn.prepare_cached(REFRESH_EXPIRING_BY)?;
                let accounts =
                    statement.query_map(named_params! {":at": unix_ms, ":limit": limit}, |row| row.get(0))?;
                accounts.collect()
            },
        )?)
    }

    /// Deletes the records not written since `unix_ms` (wall clock); returns
    /// how many. Records whose lock a session holds right now are kept.
    pub fn purge_unused_since(&self, unix_ms: i64) -> Result<i64, TokenKeepError> {
        Ok(self.purge(UNUSED_SINCE, unix_ms)?)
    }

    /// Re-encrypts every record under `new_key` (32 bytes) and uses it from
    /// now on; returns how many records were re-encrypted. If a record does
    /// not open with the current key, nothing changes and the error names it.
    /// If writing fails half-way, re-encrypted records stay under the new key
    /// (this store reads both): call it again with the same key to finish.
    /// Rotate while no other process uses the database, then open it
    /// everywhere with the new key.
    pub fn rotate_key(&self, new_key: Vec<u8>) -> Result<i64, TokenKeepError> {
        Ok(self.sealed.rotate_key(new_key)?)
    }

    /// Like [`SqliteStore::rotate_key`], to a key derived from
    /// `new_passphrase` with this database's salt.
    pub fn rotate_passphrase(&self, new_passphrase: String) -> Result<i64, TokenKeepError> {
        Ok(self.sealed.rotate_passphrase(new_passphrase)?)
    }

    /// The id of the key records are written with (16 hex digits, safe to log).
    pub fn key_id(&self) -> String {
        self.sealed.key_id()
    }

    /// This store as a [`TokenStore`], for [`TokenKeeperOptions::store`](crate::TokenKeeperOptions::store).
    pub fn as_token_store(self: Arc<Self>) -> Arc<dyn TokenStore> {
        self
    }
}

impl SqliteStore {
    /// One page of a keep-alive sweep's candidates (see `crate::sweep`):
    /// `(key, account)` pairs after `after`, in key order, at most `limit`.
    /// The key is the refresh token's expiry for
    /// [`DueQuery::RefreshExpiringBy`], the time of the last write (wall
    /// clock) for [`DueQuery::NotWrittenSince`]; both from an index.
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
            } => (DUE_BY_LAST_WRITE, since, refresh_expiring_by),
        };
        let (after_key, after_account) = after.clone();
        self.sealed.medium().with(
            || "list the accounts a sweep should refresh".into(),
            |conn| {
                let mut statement = conn.prepare_cached(sql)?;
                let rows = statement.query_map(
                    named_params! {":at": at, ":by": by, ":after_key": after_key, ":after_account": after_account, ":limit": limit},
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?;
                rows.collect()
            },
        )
    }

    /// Opens the database at `path` with `key`.
    pub fn open_with_key(path: PathBuf, key: StoreKey) -> Result<Self, StoreError> {
        let db = Connections::open(path)?;
        let locks = db.locks_directory()?;
        Ok(SqliteStore {
            sealed: SealedStore::new(db, key, locks),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.sealed.medium().path
    }

    /// Deletes the rows matching `condition` (SQL with `:at`), skipping
    /// accounts whose lock is held: a session is using them right now.
    fn purge(&self, condition: &str, at: i64) -> Result<i64, StoreError> {
        let db = self.sealed.medium();
        let candidates: Vec<String> = db.with(
            || "list the records to purge".into(),
            |conn| {
                let mut statement = conn.prepare(&format!("SELECT account FROM token_records WHERE {condition}"))?;
                let accounts = statement.query_map(named_params! {":at": at}, |row| row.get(0))?;
                accounts.collect()
            },
        )?;
        let delete = format!("DELETE FROM token_records WHERE account = :account AND {condition}");
        let mut purged = 0i64;
        for account in candidates {
            let slot = Slot::of(&account);
            let _lock = match self
                .sealed
                .lock_slot(&slot, Duration::ZERO, &format!("key `{account}`"))
            {
                Ok(lock) => lock,
                Err(StoreError::LockTimeout { .. }) => continue,
                Err(e) => return Err(e),
            };
            let deleted = db.with(
                || format!("purge the record of account `{account}`"),
                |conn| conn.execute(&delete, named_params! {":account": account, ":at": at}),
            )?;
            purged += i64::from(deleted > 0);
        }
        if purged > 0 {
            tracing::info!(path = %db.path.display(), purged, "purged token records");
        }
        Ok(purged)
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path())
            .field("key_id", &self.key_id())
            .finish()
    }
}

super::sealed::token_store_over_sealed!(SqliteStore);

fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Builds a new, empty store at `path`: the tables are created in a 0600
/// file beside it, which is synced and then hard-linked into place (failing
/// if another process created the store meanwhile, whose store is kept).
fn create_database(path: &Path) -> Result<(), StoreError> {
    let io = |doing: &str, e: &dyn std::fmt::Display| StoreError::Io {
        detail: format!("could not {doing} the SQLite store {}: {e}", path.display()),
    };
    let mut temp_name = OsString::from(path.as_os_str());
    temp_name.push(format!(".creating-{}-{:016x}", std::process::id(), OsRng.next_u64()));
    let temp = PathBuf::from(temp_name);
    create_private_file(&temp).map_err(|e| io("create", &e))?;
    let built = (|| -> Result<(), StoreError> {
        let conn = Connection::open(&temp).map_err(|e| io("create", &e))?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get::<_, String>(0))
            .map_err(|e| io("create", &e))?;
        conn.execute_batch(SCHEMA).map_err(|e| io("create the tables of", &e))?;
        conn.close().map_err(|(_, e)| io("create", &e))?;
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("sync", &e))?;
        match std::fs::hard_link(&temp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            // File systems without hard links: a rename (the race with
            // another creating process is then not excluded).
            Err(_) => std::fs::rename(&temp, path).map_err(|e| io("create", &e)),
        }
    })();
    let _ = std::fs::remove_file(&temp);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = sync_dir(parent);
    }
    built
}

/// The `schema_version` of the database `conn` is open on (1 when unset).
fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    let version = conn
        .query_row(
            "SELECT value FROM store_meta WHERE name = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(version.unwrap_or(1))
}

/// Runs the migrations the database lacks (see the module docs); returns
/// the version it was at, if it was behind.
fn migrate(conn: &mut Connection) -> rusqlite::Result<Option<i64>> {
    if schema_version(conn)? >= SCHEMA_VERSION {
        return Ok(None);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the write lock: another process may have migrated.
    let from = schema_version(&tx)?;
    if from >= SCHEMA_VERSION {
        return Ok(None);
    }
    let done = usize::try_from(from.max(1) - 1).unwrap_or(0);
    for migration in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(migration)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO store_meta (name, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION],
    )?;
    tx.commit()?;
    Ok(Some(from))
}

/// The database file and a small pool of connections to it.
pub(crate) struct Connections {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Connections {
    /// Creates the database (0600, with its tables) if missing, checks that
    /// an existing file is a tokenkeep store before writing anything to it,
    /// turns WAL on and checks the layout version.
    ///
    /// A new database is built under a temporary name and linked into place
    /// whole, so an existing file is never a half-created store: an empty
    /// file (truncated to 0 bytes), a file that is not SQLite, or an SQLite
    /// database without tokenkeep's tables is a `Corrupt` error naming the
    /// file, and the file is left untouched. (SQLite itself would treat an
    /// empty file as a new, empty database: every account silently signed
    /// out.)
    fn open(path: PathBuf) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
        match std::fs::metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => create_database(&path)?,
            Err(e) => {
                return Err(StoreError::Io {
                    detail: format!("could not read the SQLite store {}: {e}", path.display()),
                })
            }
        }
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(u64::MAX);
        if size == 0 {
            return Err(StoreError::Corrupt {
                detail: format!(
                    "the SQLite store {} is an empty file (0 bytes): it was truncated or replaced, and would read as a store without accounts; it was left untouched. Restore it from a backup, or move it away deliberately and sign in again",
                    path.display()
                ),
            });
        }
        let db = Connections {
            path,
            idle: Mutex::new(Vec::new()),
        };
        let (has_store_meta, tables) = db.with(
            || "read the store's layout".into(),
            |conn| {
                let has_store_meta: i64 = conn.query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'",
                    [],
                    |row| row.get(0),
                )?;
                let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?;
                Ok((has_store_meta > 0, tables))
            },
        )?;
        if !has_store_meta && tables > 0 {
            return Err(StoreError::Corrupt {
                detail: format!(
                    "{} is an SQLite database but not a tokenkeep store (it has no store_meta table); it was left untouched. Check the path",
                    db.path.display()
                ),
            });
        }
        let (journal_mode, version) = db.with(
            || "set up the tables".into(),
            |conn| {
                let journal_mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
                conn.execute_batch(SCHEMA)?;
                let version: i64 = conn.query_row(
                    "SELECT value FROM store_meta WHERE name = 'format_version'",
                    [],
                    |row| row.get(0),
                )?;
                Ok((journal_mode, version))
            },
        )?;
        if version > FORMAT_VERSION {
            return Err(StoreError::Failed {
                detail: format!(
                    "the SQLite store {} has layout version {version}, written by a newer tokenkeep (this one reads up to {FORMAT_VERSION}); upgrade tokenkeep",
                    db.path.display()
                ),
            });
        }
        if !journal_mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %db.path.display(), %journal_mode, "the SQLite store could not switch to WAL mode; readers will wait for writers");
        }
        let migrated_from = db.with(|| "upgrade the schema (add its indexes)".into(), migrate)?;
        if let Some(from) = migrated_from {
            tracing::info!(path = %db.path.display(), from, to = SCHEMA_VERSION, "SQLite store schema upgraded");
        }
        Ok(db)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(conn)
    }

    /// Runs `work` on a pooled connection; `doing` describes it for errors.
    fn with<T>(
        &self,
        doing: impl FnOnce() -> String,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let pooled = self.idle.lock().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.connect().map_err(|e| self.error(e, "open the database"))?,
        };
        let result = work(&mut conn);
        {
            let mut idle = self.idle.lock();
            if idle.len() < MAX_IDLE_CONNECTIONS {
                idle.push(conn);
            }
        }
        result.map_err(|e| self.error(e, &doing()))
    }

    fn error(&self, error: rusqlite::Error, doing: &str) -> StoreError {
        let detail = format!("could not {doing} in the SQLite store {}: {error}", self.path.display());
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt { detail },
            _ => StoreError::Io { detail },
        }
    }

    /// The directory of the per-account lock files, `<database>.locks/`
    /// (created 0700 if missing).
    fn locks_directory(&self) -> Result<PathBuf, StoreError> {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(".locks");
        let directory = PathBuf::from(name);
        create_private_dir(&directory)?;
        Ok(directory)
    }

    /// Every account with a record, sorted.
    fn accounts(&self) -> Result<Vec<String>, StoreError> {
        self.with(
            || "list the accounts".into(),
            |conn| {
                let mut statement = conn.prepare("SELECT account FROM token_records ORDER BY account")?;
                let accounts = statement.query_map([], |row| row.get(0))?;
                accounts.collect()
            },
        )
    }
}

/// The account a slot of this medium names (every row is listed by its
/// account, so a slot always has one).
fn account_of(slot: &Slot) -> &str {
    slot.account.as_deref().unwrap_or_default()
}

impl Medium for Connections {
    fn read(&self, slot: &Slot) -> Result<Option<Vec<u8>>, StoreError> {
        let account = account_of(slot);
        self.with(
            || format!("load the record of account `{account}`"),
            |conn| {
                conn.prepare_cached("SELECT record FROM token_records WHERE account = ?1")?
                    .query_row([account], |row| row.get(0))
                    .optional()
            },
        )
    }

    fn write(&self, slot: &Slot, sealed: &[u8], record: &[u8]) -> Result<(), StoreError> {
        let account = account_of(slot);
        let metadata = record::peek_metadata(record);
        let generation = metadata.map_or(0, |m| i64::try_from(m.generation).unwrap_or(i64::MAX));
        let refresh_expires_at_ms = metadata.and_then(|m| m.refresh_token_expires_at_ms);
        self.with(
            || format!("save the record of account `{account}`"),
            |conn| {
                conn.prepare_cached(UPSERT)?.execute(params![
                    account,
                    sealed,
                    generation,
                    refresh_expires_at_ms,
                    now_unix_ms()
                ])
            },
        )?;
        Ok(())
    }

    fn reseal(&self, slot: &Slot, sealed: &[u8]) -> Result<(), StoreError> {
        self.with(
            || format!("re-encrypt {} (key rotation)", self.describe(slot)),
            |conn| {
                conn.prepare_cached("UPDATE token_records SET record = ?2 WHERE account = ?1")?
                    .execute(params![account_of(slot), sealed])
            },
        )?;
        Ok(())
    }

    fn delete(&self, slot: &Slot) -> Result<(), StoreError> {
        let account = account_of(slot);
        self.with(
            || format!("delete the record of account `{account}`"),
            |conn| {
                conn.prepare_cached("DELETE FROM token_records WHERE account = ?1")?
                    .execute([account])
            },
        )?;
        Ok(())
    }

    fn slots(&self) -> Result<Vec<Slot>, StoreError> {
        Ok(self.accounts()?.iter().map(|account| Slot::of(account)).collect())
    }

    /// The passphrase salt, created on first use (by whichever process
    /// gets there first: `INSERT OR IGNORE`).
    fn passphrase_salt(&self) -> Result<[u8; PASSPHRASE_SALT_LEN], StoreError> {
        let mut fresh = [0u8; PASSPHRASE_SALT_LEN];
        OsRng.fill_bytes(&mut fresh);
        let salt: Vec<u8> = self.with(
            || "read the passphrase salt".into(),
            |conn| {
                conn.execute(
                    "INSERT OR IGNORE INTO store_meta (name, value) VALUES ('passphrase_salt', ?1)",
                    [&fresh[..]],
                )?;
                conn.query_row(
                    "SELECT value FROM store_meta WHERE name = 'passphrase_salt'",
                    [],
                    |row| row.get(0),
                )
            },
        )?;
        salt.as_slice().try_into().map_err(|_| StoreError::Corrupt {
            detail: format!(
                "the passphrase salt in the SQLite store {} is {} bytes, expected {PASSPHRASE_SALT_LEN}",
                self.path.display(),
                salt.len()
            ),
        })
    }

    fn describe(&self, slot: &Slot) -> String {
        format!(
            "the record of account `{}` in {}",
            account_of(slot),
            self.path.display()
        )
    }

    fn place(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::store::envelope::AccountBinding;
    use crate::store::key_lock::testing::TempDir;
    use crate::store::sealed::contract::sealed_store_contract;
    use crate::token_set::{TokenSet, TokenSetParts};

    const ACCESS: &str = "at_SQLITE_STORE_SECRET_0123456789";
    const REFRESH: &str = "rt_SQLITE_STORE_SECRET_9876543210";

    fn record_bytes(generation: u64) -> Vec<u8> {
        let tokens = TokenSet::bearer(ACCESS, Some(REFRESH.into()), Some(3600), None, 1_000);
        record::encode(&tokens, generation, 2_000).expect("encode").to_vec()
    }

    /// A record whose refresh token expires at `refresh_expires_at_ms`.
    fn record_expiring(refresh_expires_at_ms: i64) -> Vec<u8> {
        let parts = TokenSetParts {
            refresh_token: Some(Secret::new(REFRESH)),
            expires_in_ms: Some(60_000),
            refresh_token_expires_in_ms: Some(refresh_expires_at_ms - 1_000),
            ..TokenSetParts::default()
        };
        let tokens = TokenSet::from_parts(Secret::new(ACCESS), parts, 1_000);
        record::encode(&tokens, 3, 2_000).expect("encode").to_vec()
    }

    fn open(path: &Path, key_byte: u8) -> Arc<SqliteStore> {
        SqliteStore::open(path.to_string_lossy().into_owned(), vec![key_byte; 32]).expect("opens")
    }

    fn sql<T>(store: &SqliteStore, work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> T {
        store.sealed.medium().with(|| "test".into(), work).expect("sql")
    }

    #[test]
    fn round_trip_overwrite_delete_and_metadata_columns() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        assert_eq!(store.load("user-1".into()).expect("load"), None);
        store.save("user-1".into(), record_bytes(1)).expect("save");
        assert_eq!(store.load("user-1".into()).expect("load"), Some(record_bytes(1)));
        store.save("user-1".into(), record_expiring(9_000)).expect("overwrite");
        assert_eq!(store.load("user-1".into()).expect("load"), Some(record_expiring(9_000)));
        let (generation, refresh, updated): (i64, Option<i64>, i64) = sql(&store, |c| {
            c.query_row(
                "SELECT generation, refresh_expires_at_ms, updated_at_ms FROM token_records WHERE account = 'user-1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        });
        assert_eq!((generation, refresh), (3, Some(9_000)));
        assert!((updated - now_unix_ms()).abs() < 60_000);
        store
            .save("opaque".into(), b"not a tokenkeep record".to_vec())
            .expect("any bytes");
        assert_eq!(store.accounts().expect("accounts"), vec!["opaque", "user-1"]);
        store.delete("user-1".into()).expect("delete");
        store
            .delete("user-1".into())
            .expect("deleting a missing record is fine");
        assert_eq!(store.load("user-1".into()).expect("load"), None);
        assert_eq!(store.accounts().expect("accounts"), vec!["opaque"]);
    }

    #[test]
    fn wal_mode_and_full_sync_are_on() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        let mode: String = sql(&store, |c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)));
        assert_eq!(mode, "wal");
        let synchronous: i64 = sql(&store, |c| c.query_row("PRAGMA synchronous", [], |r| r.get(0)));
        assert_eq!(synchronous, 2, "FULL");
    }

    #[cfg(unix)]
    #[test]
    fn the_database_and_lock_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("sqlite-store");
        let path = dir.join("nested/tokens.sqlite");
        let store = open(&path, 1);
        store.save("user-1".into(), record_bytes(1)).expect("save");
        store.lock("user-1".into(), 0).expect("lock");
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("nested")), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("nested/tokens.sqlite-wal")), 0o600);
        assert_eq!(mode(&dir.join("nested/tokens.sqlite.locks")), 0o700);
        let lock = store.sealed.lock_path(&AccountBinding::of("user-1"));
        assert_eq!(mode(&lock), 0o600);
    }

    #[test]
    fn no_token_reaches_the_disk() {
        let dir = TempDir::new("sqlite-store");
        let path = dir.join("tokens.sqlite");
        let store = open(&path, 1);
        for i in 0..5 {
            store.save(format!("user-{i}"), record_bytes(i)).expect("save");
        }
        for file in ["tokens.sqlite", "tokens.sqlite-wal"] {
            let bytes = std::fs::read(dir.join(file)).expect("read");
            for needle in [ACCESS, REFRESH, "access_token"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle} in {file}"
                );
            }
        }
    }

    #[test]
    fn rotation_is_not_a_use_and_keeps_the_metadata() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        for i in 0..3u64 {
            store.save(format!("user-{i}"), record_bytes(i)).expect("save");
        }
        let columns = || -> Vec<(i64, i64)> {
            sql(&store, |c| {
                c.prepare("SELECT generation, updated_at_ms FROM token_records ORDER BY account")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
        };
        let before = columns();
        assert_eq!(store.rotate_key(vec![2; 32]).expect("rotate"), 3);
        assert_eq!(columns(), before, "rotation is not a use");
    }

    #[test]
    fn purge_refresh_expired_removes_dead_sessions_only() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        store.save("expired".into(), record_expiring(5_000)).expect("save");
        store.save("at-the-edge".into(), record_expiring(10_000)).expect("save");
        store.save("alive".into(), record_expiring(20_000)).expect("save");
        store.save("no-expiry".into(), record_bytes(1)).expect("save");
        store.save("busy".into(), record_expiring(1_000)).expect("save");
        let session = open(&dir.join("tokens.sqlite"), 1);
        session.lock("busy".into(), 0).expect("a session holds it");
        assert_eq!(store.purge_refresh_expired(10_000).expect("purge"), 2);
        assert_eq!(store.accounts().expect("accounts"), vec!["alive", "busy", "no-expiry"]);
        session.unlock("busy".into()).expect("unlock");
        assert_eq!(store.purge_refresh_expired(10_000).expect("purge"), 1);
        assert_eq!(store.purge_refresh_expired(10_000).expect("purge"), 0);
    }

    #[test]
    fn purge_unused_since_removes_rows_not_written_since() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        for account in ["old", "recent"] {
            store.save(account.into(), record_bytes(1)).expect("save");
        }
        let cutoff = now_unix_ms() - 86_400_000;
        sql(&store, |c| {
            c.execute(
                "UPDATE token_records SET updated_at_ms = ?1 WHERE account = 'old'",
                [cutoff - 1],
            )
        });
        assert_eq!(store.purge_unused_since(cutoff).expect("purge"), 1);
        assert_eq!(store.accounts().expect("accounts"), vec!["recent"]);
    }

    /// The query plan of `query` (with `:at` and `:limit` bound), one line per step.
    fn plan(store: &SqliteStore, query: &str) -> String {
        let lines: Vec<String> = sql(store, |c| {
            let mut statement = c.prepare(&format!("EXPLAIN QUERY PLAN {query}"))?;
            let names: Vec<String> = (1..=statement.parameter_count())
                .filter_map(|i| statement.parameter_name(i).map(str::to_owned))
                .collect();
            let values: Vec<(&str, &dyn rusqlite::ToSql)> = names
                .iter()
                .map(|n| (n.as_str(), &1_000i64 as &dyn rusqlite::ToSql))
                .collect();
            let rows = statement.query_map(values.as_slice(), |r| r.get::<_, String>(3))?;
            rows.collect()
        });
        lines.join("\n")
    }

    /// Issue 13, item 10: at 100,000 accounts a purge or a sweep must not
    /// read every row.
    #[test]
    fn purges_and_the_sweep_query_use_an_index() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        for i in 0..200 {
            store
                .save(format!("user-{i}"), record_expiring(10_000 + i))
                .expect("save");
        }
        let queries = [
            (
                format!("SELECT account FROM token_records WHERE {REFRESH_EXPIRED}"),
                "token_records_by_refresh_expiry",
            ),
            (
                format!("DELETE FROM token_records WHERE account = :account AND {REFRESH_EXPIRED}"),
                "sqlite_autoindex_token_records_1",
            ),
            (
                format!("SELECT account FROM token_records WHERE {UNUSED_SINCE}"),
                "token_records_by_update",
            ),
            (REFRESH_EXPIRING_BY.to_owned(), "token_records_by_refresh_expiry"),
        ];
        for (query, index) in queries {
            let plan = plan(&store, &query);
            assert!(plan.contains(&format!("INDEX {index}")), "{query}\n{plan}");
            assert!(!plan.contains("SCAN token_records"), "{query}\n{plan}");
        }
    }

    #[test]
    fn the_sweep_query_lists_the_soonest_expiring_refresh_tokens_first() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        store.save("later".into(), record_expiring(30_000)).expect("save");
        store.save("soon".into(), record_expiring(10_000)).expect("save");
        store.save("sooner".into(), record_expiring(5_000)).expect("save");
        store.save("never".into(), record_bytes(1)).expect("save");
        let due = store.accounts_refresh_expiring_by(20_000, 10).expect("query");
        assert_eq!(due, vec!["sooner", "soon"]);
        let first = store.accounts_refresh_expiring_by(20_000, 1).expect("query");
        assert_eq!(first, vec!["sooner"]);
    }

    /// A database written before the indexes (schema version 1, kept here
    /// as its SQL) is migrated when opened, its rows kept.
    #[test]
    fn a_version_1_database_gets_the_indexes_when_opened() {
        const VERSION_1: &str = "
            PRAGMA journal_mode = WAL;
            CREATE TABLE token_records (
                account TEXT PRIMARY KEY,
                record BLOB NOT NULL,
                generation INTEGER NOT NULL,
                refresh_expires_at_ms INTEGER,
                updated_at_ms INTEGER NOT NULL
            );
            CREATE TABLE store_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
            INSERT INTO store_meta (name, value) VALUES ('format_version', 1);
            INSERT INTO token_records VALUES ('old-user', x'00', 1, 5000, 1);
        ";
        let dir = TempDir::new("sqlite-store");
        let path = dir.join("tokens.sqlite");
        let old = Connection::open(&path).expect("old database");
        old.execute_batch(VERSION_1).expect("version 1 schema");
        drop(old);
        let store = open(&path, 1);
        let version: i64 = sql(&store, |c| schema_version(c));
        assert_eq!(version, SCHEMA_VERSION);
        let indexes: Vec<String> = sql(&store, |c| {
            c.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'token_records_by_%' ORDER BY name",
            )?
            .query_map([], |r| r.get(0))?
            .collect()
        });
        assert_eq!(
            indexes,
            vec!["token_records_by_refresh_expiry", "token_records_by_update"]
        );
        assert_eq!(store.accounts().expect("accounts"), vec!["old-user"]);
        assert_eq!(
            store.accounts_refresh_expiring_by(6_000, 10).expect("query"),
            vec!["old-user"]
        );
        drop(store);
        let again = open(&path, 1);
        assert_eq!(sql(&again, |c| schema_version(c)), SCHEMA_VERSION, "migrated once");
    }

    #[test]
    fn many_threads_save_and_load_at_once() {
        let dir = TempDir::new("sqlite-store");
        let store = open(&dir.join("tokens.sqlite"), 1);
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let own = format!("user-{t}");
                        store.save(own.clone(), record_bytes(i)).expect("save own");
                        assert_eq!(store.load(own).expect("load own"), Some(record_bytes(i)));
                        store.save("shared".into(), record_bytes(t)).expect("save shared");
                        let shared = store.load("shared".into()).expect("load shared").expect("present");
                        assert!(record::peek_metadata(&shared).is_some());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(store.accounts().expect("accounts").len(), 9);
        assert!(store.sealed.medium().idle.lock().len() <= MAX_IDLE_CONNECTIONS);
    }

    /// Issue 10, case 3: a store file truncated to 0 bytes, replaced by
    /// something that is not SQLite, or by another SQLite database, is a
    /// `Corrupt` error naming the file, and the file is not written.
    #[test]
    fn a_truncated_or_foreign_file_is_corrupt_and_left_untouched() {
        let dir = TempDir::new("sqlite-store");
        let path = dir.join("tokens.sqlite");
        {
            let store = open(&path, 1);
            store.save("user-1".into(), record_bytes(1)).expect("save");
        }
        let other = rusqlite::Connection::open(dir.join("other.sqlite")).expect("other db");
        other
            .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
            .expect("other schema");
        drop(other);
        let foreign_db = std::fs::read(dir.join("other.sqlite")).expect("read");
        let cases: [(&str, Vec<u8>); 3] = [
            ("truncated to 0 bytes", Vec::new()),
            (
                "not SQLite",
                b"these are not the bytes of an SQLite database, just text".repeat(100),
            ),
            ("another SQLite database", foreign_db),
        ];
        for (what, bytes) in cases {
            for sidecar in ["-wal", "-shm"] {
                let mut name = path.as_os_str().to_owned();
                name.push(sidecar);
                let _ = std::fs::remove_file(PathBuf::from(name));
            }
            std::fs::write(&path, &bytes).expect("replace");
            let error = SqliteStore::open(path.to_string_lossy().into_owned(), vec![1; 32]).expect_err(what);
            assert!(
                matches!(&error, TokenKeepError::Storage { kind: crate::StorageErrorKind::Corrupt, detail } if detail.contains(&*path.to_string_lossy())),
                "{what}: {error:?}"
            );
            assert_eq!(
                std::fs::read(&path).expect("still there"),
                bytes,
                "{what}: the file was changed"
            );
        }
    }

    #[test]
    fn a_new_store_leaves_no_temporary_file_behind() {
        let dir = TempDir::new("sqlite-store");
        let path = dir.join("tokens.sqlite");
        let store = open(&path, 1);
        store.save("user-1".into(), record_bytes(1)).expect("save");
        let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains(".creating-"))
            .collect();
        assert_eq!(leftovers, Vec::<String>::new());
        drop(store);
        let reopened = open(&path, 1);
        assert_eq!(reopened.load("user-1".into()).expect("load"), Some(record_bytes(1)));
    }

    sealed_store_contract!(SqliteStore, Connections, |dir| dir.join("tokens.sqlite"), "`b`");
}
