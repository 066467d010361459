//! [`EncryptedFileStore`]: encrypted records in a directory, one file per account.
//!
//! The persistent store for an app, a CLI or a single service: no database,
//! nothing to run, safe to share between processes of one user.
//!
//! # On disk
//!
//! ```text
//! <directory>/                          created 0700 if missing
//!   3f2a…9c.tkrec                       one sealed record per account (0600)
//!   3f2a…9c.lock                        its lock file (0600, empty; on Unix only while locked)
//!   store.salt                          16 random bytes, passphrase stores only (0600)
//! ```
//!
//! A file is named after the account's binding, the first 16 bytes of
//! SHA-256(account id) in hex: the account id itself is written nowhere.
//! (Someone who can guess an account id can still confirm it has a file:
//! use opaque account ids if that matters.) Each file is a record sealed
//! with XChaCha20-Poly1305 and bound to its account (see `envelope.rs`), so
//! a file renamed to another account's name does not open.
//!
//! # Guarantees
//!
//! * **Atomic writes.** `save` writes the sealed record to a fresh temporary
//!   file in the same directory (`.<name>.<pid>-<n>-<random>.tmp`, 0600),
//!   `fsync`s it, renames it over the record and `fsync`s the directory. A
//!   reader sees the old record or the new one, never a mix, and after
//!   `save` returns the new record survives a power cut. Temporary files a
//!   crash leaves behind are never read, and are removed when a store is
//!   opened once they are a minute old.
//! * **No plaintext on disk.** Records are sealed in memory before anything
//!   is written; decrypted records are zeroized when the store is done with
//!   them.
//! * **Cross-process locking.** `lock`/`unlock` use the per-account lock file
//!   (see `key_lock.rs`): exclusive across processes and handles, released by
//!   the kernel if the holder dies, and removed by its holder at unlock (Unix).
//! * **Nothing is deleted on error.** A record that is truncated, tampered
//!   with or under another key is reported (`StoreError::Corrupt` /
//!   `StoreError::WrongKey`, naming the file and the account) and left as it
//!   is.
//!
//! # Keys
//!
//! [`EncryptedFileStore::open`] takes 32 key bytes, best kept in the
//! platform's key store; [`EncryptedFileStore::open_with_passphrase`]
//! stretches a passphrase with Argon2id and a random salt kept in
//! `store.salt` (not secret, but back it up with the records: without it the
//! passphrase opens nothing). [`EncryptedFileStore::rotate_key`] re-encrypts
//! every record under a new key. Rotate while no other process uses the
//! store, then open it everywhere with the new key: a process still holding
//! the old key gets `WrongKey` for rotated records.
//!
//! On Windows the Unix modes do not apply: files get the directory's ACL, so
//! keep the store under the user's profile.
//!
//! Sealing, keys, locks and rotation are shared with the SQLite store (see
//! `sealed.rs`); this module is only the files.
//!
//! The nearest alternative is [`SqliteStore`](crate::SqliteStore), for a
//! service with many accounts that needs to list or purge them.
//!
//! ```no_run
//! use tokenkeep::{EncryptedFileStore, TokenKeeper, TokenKeeperOptions};
//! # fn key_from_keychain() -> Vec<u8> { vec![0; 32] }
//! let store = EncryptedFileStore::open("/home/me/.local/share/my-app/tokens".into(), key_from_keychain())?;
//! let keeper = TokenKeeper::new(TokenKeeperOptions {
//!     account_id: "user-42".into(),
//!     store: Some(store.as_token_store()),
//!     ..TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-app")
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use super::envelope::AccountBinding;
use super::private_files::{create_private_dir, create_private_file, sync_dir};
use super::sealed::{Medium, SealedStore, Slot};
use super::store_key::{StoreKey, PASSPHRASE_SALT_LEN};
use super::{StoreError, TokenStore};
use crate::error::TokenKeepError;

/// The extension of record files.
const RECORD_EXTENSION: &str = "tkrec";
/// The salt of a passphrase store.
const SALT_FILE: &str = "store.salt";
/// How old a leftover temporary file must be before `open` removes it (a
/// younger one may belong to a save running in another process).
const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// A [`TokenStore`] keeping each account's record in its own encrypted file.
///
/// One file per account in a private directory, named after a hash of the
/// account id; records sealed with XChaCha20-Poly1305 and bound to their
/// account; atomic, fsynced replacement on every save; per-account locks
/// that hold across processes and die with their holder. A wrong key is
/// `StoreError::WrongKey`, damage is `StoreError::Corrupt`, and neither
/// deletes anything. Hand it to a session with
/// [`as_token_store`](EncryptedFileStore::as_token_store).
#[derive(uniffi::Object)]
#[uniffi::export(Debug)]
pub struct EncryptedFileStore {
    sealed: SealedStore<RecordFiles>,
}

#[uniffi::export]
impl EncryptedFileStore {
    /// Opens the store in `directory` (created 0700 if missing) with a
    /// 32-byte key, for example random bytes kept in the platform's key store.
    #[uniffi::constructor]
    pub fn open(directory: String, key: Vec<u8>) -> Result<Arc<Self>, TokenKeepError> {
        let key = StoreKey::from_bytes(&Zeroizing::new(key))?;
        Ok(Arc::new(Self::open_with_key(PathBuf::from(directory), key)?))
    }

    /// Opens the store in `directory` with a key derived from `passphrase`
    /// (Argon2id, with the salt in `<directory>/store.salt`, created on first
    /// open). Takes tens of milliseconds, on purpose.
    #[uniffi::constructor]
    pub fn open_with_passphrase(directory: String, passphrase: String) -> Result<Arc<Self>, TokenKeepError> {
        let passphrase = Zeroizing::new(passphrase);
        let files = RecordFiles::open(PathBuf::from(directory))?;
        let locks = files.directory.clone();
        let sealed = SealedStore::with_passphrase(files, &passphrase, locks)?;
        Ok(Arc::new(EncryptedFileStore { sealed }))
    }

    /// Re-encrypts every record under `new_key` (32 bytes) and uses it from
    /// now on; returns how many records were re-encrypted. If a record does
    /// not open with the current key, nothing changes and the error names it.
    /// If writing fails half-way, re-encrypted records stay under the new key
    /// (this store reads both): call it again with the same key to finish.
    pub fn rotate_key(&self, new_key: Vec<u8>) -> Result<i64, TokenKeepError> {
        Ok(self.sealed.rotate_key(new_key)?)
    }

    /// Like [`EncryptedFileStore::rotate_key`], to a key derived from
    /// `new_passphrase` with this store's salt: afterwards
    /// `open_with_passphrase` takes the new passphrase.
    pub fn rotate_passphrase(&self, new_passphrase: String) -> Result<i64, TokenKeepError> {
        Ok(self.sealed.rotate_passphrase(new_passphrase)?)
    }

    /// How many records the store holds. (Account ids cannot be listed: file
    /// names are hashes.)
    pub fn record_count(&self) -> Result<i64, TokenKeepError> {
        Ok(i64::try_from(self.sealed.medium().slots()?.len()).unwrap_or(i64::MAX))
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

impl EncryptedFileStore {
    /// Opens the store in `directory` with `key`.
    pub fn open_with_key(directory: PathBuf, key: StoreKey) -> Result<Self, StoreError> {
        let files = RecordFiles::open(directory)?;
        let locks = files.directory.clone();
        Ok(EncryptedFileStore {
            sealed: SealedStore::new(files, key, locks),
        })
    }

    /// The directory the records are in.
    pub fn directory(&self) -> &Path {
        &self.sealed.medium().directory
    }
}

impl std::fmt::Debug for EncryptedFileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedFileStore")
            .field("directory", &self.directory())
            .field("key_id", &self.key_id())
            .finish()
    }
}

super::sealed::token_store_over_sealed!(EncryptedFileStore);

/// The medium of the file store: one sealed record file per account in a
/// private directory, named after the account's binding.
pub(crate) struct RecordFiles {
    directory: PathBuf,
}

impl RecordFiles {
    /// The files in `directory`, created 0700 if missing; temporary files a
    /// crash left there more than a minute ago are removed.
    fn open(directory: PathBuf) -> Result<Self, StoreError> {
        create_private_dir(&directory)?;
        remove_stale_temp_files(&directory);
        Ok(RecordFiles { directory })
    }

    fn path_of(&self, binding: &AccountBinding) -> PathBuf {
        self.directory.join(format!("{}.{RECORD_EXTENSION}", binding.to_hex()))
    }
}

impl Medium for RecordFiles {
    fn read(&self, slot: &Slot) -> Result<Option<Vec<u8>>, StoreError> {
        read_record(&self.path_of(&slot.binding))
    }

    fn write(&self, slot: &Slot, sealed: &[u8], _record: &[u8]) -> Result<(), StoreError> {
        write_atomically(&self.path_of(&slot.binding), sealed, &self.describe(slot))
    }

    fn reseal(&self, slot: &Slot, sealed: &[u8]) -> Result<(), StoreError> {
        write_atomically(&self.path_of(&slot.binding), sealed, &self.describe(slot))
    }

    fn delete(&self, slot: &Slot) -> Result<(), StoreError> {
        match fs::remove_file(self.path_of(&slot.binding)) {
            Ok(()) => sync_dir(&self.directory).map_err(|e| StoreError::Io {
                detail: format!("deleted {} but could not sync its directory: {e}", self.describe(slot)),
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io {
                detail: format!("could not delete {}: {e}", self.describe(slot)),
            }),
        }
    }

    /// Every record file, by the binding its name encodes, sorted.
    fn slots(&self) -> Result<Vec<Slot>, StoreError> {
        let entries = fs::read_dir(&self.directory).map_err(|e| StoreError::Io {
            detail: format!("could not list the store directory {}: {e}", self.directory.display()),
        })?;
        let mut bindings: Vec<AccountBinding> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().and_then(|e| e.to_str()) == Some(RECORD_EXTENSION))
            .filter_map(|path| {
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(AccountBinding::from_hex)
            })
            .collect();
        bindings.sort_by_key(AccountBinding::to_hex);
        Ok(bindings.into_iter().map(Slot::of_binding).collect())
    }

    fn passphrase_salt(&self) -> Result<[u8; PASSPHRASE_SALT_LEN], StoreError> {
        load_or_create_salt(&self.directory)
    }

    fn describe(&self, slot: &Slot) -> String {
        let path = self.path_of(&slot.binding);
        match &slot.account {
            Some(account) => format!("the record file {} (account `{account}`)", path.display()),
            None => format!("the record file {}", path.display()),
        }
    }

    fn place(&self) -> &Path {
        &self.directory
    }
}

/// The bytes of the file at `path`, or `None` if there is none.
fn read_record(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io {
            detail: format!("could not read the record file {}: {e}", path.display()),
        }),
    }
}

/// A temporary file name beside `target`, unique across processes and threads.
fn temp_path(target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("record");
    target.with_file_name(format!(
        ".{name}.{}-{}-{:08x}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        OsRng.next_u32()
    ))
}

fn is_temp_file_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Replaces `target` with `bytes` atomically and durably (see the module docs).
fn write_atomically(target: &Path, bytes: &[u8], what: &str) -> Result<(), StoreError> {
    let temp = temp_path(target);
    let written = create_private_file(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, target));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(StoreError::Io {
            detail: format!("could not write {what} (through {}): {e}", temp.display()),
        });
    }
    let directory = target.parent().unwrap_or(Path::new("."));
    sync_dir(directory).map_err(|e| StoreError::Io {
        detail: format!("wrote {what} but could not sync its directory: {e}"),
    })
}

/// Removes temporary files a crashed save left behind (best effort).
fn remove_stale_temp_files(directory: &Path) {
    let Ok(entries) = fs::read_dir(directory) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_temp_file_name) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok());
        if age.is_some_and(|age| age >= STALE_TEMP_AGE) {
            match fs::remove_file(entry.path()) {
                Ok(()) => tracing::debug!(path = %entry.path().display(), "removed a leftover temporary file"),
                Err(e) => {
                    tracing::debug!(path = %entry.path().display(), error = %e, "could not remove a leftover temporary file")
                }
            }
        }
    }
}

/// The salt of a passphrase store in `directory`, created on first use.
/// Two processes creating it at once agree on one: the salt is written to a
/// temporary file and hard-linked into place, which fails if it exists.
fn load_or_create_salt(directory: &Path) -> Result<[u8; PASSPHRASE_SALT_LEN], StoreError> {
    let path = directory.join(SALT_FILE);
    if let Some(salt) = read_salt(&path)? {
        return Ok(salt);
    }
    let mut salt = [0u8; PASSPHRASE_SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let temp = temp_path(&path);
    let created = create_private_file(&temp)
        .and_then(|mut file| {
            file.write_all(&salt)?;
            file.sync_all()
        })
        .and_then(|()| match fs::hard_link(&temp, &path) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            linked => linked.and_then(|()| sync_dir(directory)),
        });
    let _ = fs::remove_file(&temp);
    created.map_err(|e| StoreError::Io {
        detail: format!("could not create the salt file {}: {e}", path.display()),
    })?;
    read_salt(&path)?.ok_or_else(|| StoreError::Io {
        detail: format!("the salt file {} vanished while the store opened", path.display()),
    })
}

fn read_salt(path: &Path) -> Result<Option<[u8; PASSPHRASE_SALT_LEN]>, StoreError> {
    let Some(bytes) = read_record(path)? else {
        return Ok(None);
    };
    bytes.as_slice().try_into().map(Some).map_err(|_| StoreError::Corrupt {
        detail: format!(
            "the salt file {} is {} bytes, expected {PASSPHRASE_SALT_LEN}; without it the passphrase cannot open this store's records (restore it from a backup)",
            path.display(),
            bytes.len()
        ),
    })
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;
    use crate::store::key_lock::testing::TempDir;
    use crate::store::record;
    use crate::store::sealed::contract::sealed_store_contract;
    use crate::token_set::TokenSet;

    const ACCESS: &str = "at_FILE_STORE_SECRET_0123456789";
    const REFRESH: &str = "rt_FILE_STORE_SECRET_9876543210";

    fn record_bytes(generation: u64) -> Vec<u8> {
        let tokens = TokenSet::bearer(ACCESS, Some(REFRESH.into()), Some(3600), Some("read".into()), 1_000);
        record::encode(&tokens, generation, 2_000).expect("encode").to_vec()
    }

    fn open(dir: &Path, key_byte: u8) -> Arc<EncryptedFileStore> {
        EncryptedFileStore::open(dir.to_string_lossy().into_owned(), vec![key_byte; 32]).expect("opens")
    }

    fn record_file(store: &EncryptedFileStore, account: &str) -> PathBuf {
        store.sealed.medium().path_of(&AccountBinding::of(account))
    }

    #[test]
    fn round_trip_overwrite_and_delete() {
        let dir = TempDir::new("file-store");
        let store = open(&dir.join("tokens"), 1);
        assert_eq!(store.load("user-1".into()).expect("load"), None);
        store.save("user-1".into(), record_bytes(1)).expect("save");
        assert_eq!(store.load("user-1".into()).expect("load"), Some(record_bytes(1)));
        store.save("user-1".into(), record_bytes(2)).expect("overwrite");
        assert_eq!(store.load("user-1".into()).expect("load"), Some(record_bytes(2)));
        store.save("user-2".into(), record_bytes(7)).expect("save");
        assert_eq!(store.record_count().expect("count"), 2);
        store.delete("user-1".into()).expect("delete");
        assert_eq!(store.load("user-1".into()).expect("load"), None);
        store
            .delete("user-1".into())
            .expect("deleting a missing record is fine");
        assert_eq!(store.record_count().expect("count"), 1);
        assert_eq!(store.load("user-2".into()).expect("load"), Some(record_bytes(7)));
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_and_every_file_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("file-store");
        let tokens = dir.join("nested/tokens");
        let store = EncryptedFileStore::open_with_passphrase(tokens.to_string_lossy().into_owned(), "pw".into())
            .expect("opens");
        store.save("user-1".into(), record_bytes(1)).expect("save");
        store.lock("user-1".into(), 0).expect("lock");
        let mode = |p: &Path| fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&tokens), 0o700);
        let names: Vec<_> = fs::read_dir(&tokens)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}"); // record, lock, salt
        for path in names {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }

    #[test]
    fn nothing_on_disk_shows_a_token_or_the_account_id() {
        let dir = TempDir::new("file-store");
        let store = open(&dir.0, 1);
        store.save("alice@example.com".into(), record_bytes(1)).expect("save");
        store.lock("alice@example.com".into(), 0).expect("lock");
        for entry in fs::read_dir(&dir.0).expect("dir").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(!name.contains("alice"), "{name}");
            let bytes = fs::read(entry.path()).expect("read");
            for needle in [ACCESS, REFRESH, "alice", "access_token", "schema_version"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle} found in {name}"
                );
            }
        }
    }

    #[test]
    fn a_passphrase_store_keeps_one_salt_file() {
        let dir = TempDir::new("file-store");
        let path = dir.0.to_string_lossy().into_owned();
        EncryptedFileStore::open_with_passphrase(path.clone(), "correct horse".into()).expect("opens");
        let salt = fs::read(dir.join(SALT_FILE)).expect("salt");
        assert_eq!(salt.len(), PASSPHRASE_SALT_LEN);
        EncryptedFileStore::open_with_passphrase(path.clone(), "battery staple".into()).expect("opens");
        assert_eq!(fs::read(dir.join(SALT_FILE)).expect("salt"), salt, "the salt is reused");
        assert!(
            EncryptedFileStore::open(path, vec![1; 31]).is_err(),
            "a key is 32 bytes"
        );
    }

    #[test]
    fn leftover_temp_files_are_ignored_and_stale_ones_removed_on_open() {
        let dir = TempDir::new("file-store");
        let store = open(&dir.0, 1);
        store.save("user-1".into(), record_bytes(1)).expect("save");
        let target = record_file(&store, "user-1");
        let stale = temp_path(&target);
        let fresh = temp_path(&target);
        fs::write(&stale, b"half a record").expect("stale");
        fs::write(&fresh, b"a save in progress").expect("fresh");
        File::options()
            .write(true)
            .open(&stale)
            .expect("open")
            .set_modified(SystemTime::now() - Duration::from_secs(3_600))
            .expect("age it");
        assert_eq!(store.load("user-1".into()).expect("load"), Some(record_bytes(1)));
        assert_eq!(store.record_count().expect("count"), 1);
        let reopened = open(&dir.0, 1);
        assert!(!stale.exists(), "a stale temp file is removed");
        assert!(fresh.exists(), "a young one may be another process's save");
        assert_eq!(reopened.load("user-1".into()).expect("load"), Some(record_bytes(1)));
    }

    #[test]
    fn concurrent_saves_never_leave_a_torn_record() {
        let dir = TempDir::new("file-store");
        let store = open(&dir.0, 1);
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..20 {
                        store.save("shared".into(), record_bytes(t * 100 + i)).expect("save");
                        let loaded = store.load("shared".into()).expect("load").expect("present");
                        assert!(record::peek_metadata(&loaded).is_some());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let names: Vec<_> = fs::read_dir(&dir.0).expect("dir").flatten().collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }

    sealed_store_contract!(
        EncryptedFileStore,
        RecordFiles,
        |dir| dir.join("tokens"),
        &AccountBinding::of("b").to_hex()
    );
}
