//! [`SealedStore`]: what the encrypted file store and the SQLite store share,
//! over a [`Medium`] that only keeps sealed bytes.
//!
//! A persistent store is two things: a place where sealed records live (a
//! file per account in a directory, a row per account in SQLite: the
//! [`Medium`]) and everything that makes those bytes safe to keep, which is
//! the same for every place and lives here once:
//!
//! * **Sealing.** `save` seals the record with [`envelope::seal`] under the
//!   current key, bound to its account, before the medium sees it; `load`
//!   opens it with the key the record names ([`KeyRing::for_record`]: the
//!   previous key while a rotation runs) and hands back the plaintext.
//!   `WrongKey` and `Corrupt` come from [`envelope::open`], naming the record
//!   the way the medium describes it ([`Medium::describe`]: a file, a row).
//!   Nothing is deleted when a record does not open.
//! * **Keys.** A 32-byte key, or a passphrase stretched with Argon2id and a
//!   salt the medium keeps ([`Medium::passphrase_salt`]).
//! * **Locks.** Per-account advisory lock files ([`KeyLocks`]) in a directory
//!   the store chooses: exclusive across processes, released by the kernel
//!   when a holder dies.
//! * **Key rotation.** [`SealedStore::rotate_key`] first checks that every
//!   record opens (nothing changes if one does not, and the error names it),
//!   then makes the new key current while keeping the old one readable, and
//!   re-seals each record not yet under the new key, under that record's
//!   lock, so a session refreshing it meanwhile is not overwritten. A second
//!   pass catches a record a session of this process sealed with the old key
//!   during the first. Records already under the new key are skipped, so a
//!   rotation that stopped half-way (an I/O error) finishes when run again
//!   with the same key. Rotate while no other process uses the store: one
//!   still holding the old key gets `WrongKey` for rotated records.
//!
//! A medium never sees a key or a plaintext record, except that
//! [`Medium::write`] is shown the record it stores so that it may index the
//! record's non-secret metadata (the SQLite store's purge columns).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use zeroize::Zeroizing;

use super::envelope::{self, AccountBinding};
use super::key_lock::{lock_file, KeyLocks};
use super::store_key::{KeyRing, StoreKey, PASSPHRASE_SALT_LEN};
use super::{lock_wait, StoreError};

/// How long a rotation or an admin task waits for a session's lock on one
/// record (a session holds it across one refresh, retries included).
pub(crate) const ADMIN_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Where one account's sealed record lives in a medium: the account's
/// binding (what the record is sealed to and its lock file is named after)
/// and, when the medium knows it, the account id. (The file store's listing
/// knows only bindings: its file names are hashes.)
pub(crate) struct Slot {
    pub(crate) binding: AccountBinding,
    pub(crate) account: Option<String>,
}

impl Slot {
    /// The slot of `account`.
    pub(crate) fn of(account: &str) -> Self {
        Slot {
            binding: AccountBinding::of(account),
            account: Some(account.to_owned()),
        }
    }

    /// A slot listed by its binding alone.
    pub(crate) fn of_binding(binding: AccountBinding) -> Self {
        Slot { binding, account: None }
    }
}

/// Where sealed records live: keeps bytes, knows nothing of keys.
pub(crate) trait Medium: Send + Sync {
    /// The sealed record in `slot`, or `None` if there is none.
    fn read(&self, slot: &Slot) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the record in `slot` with `sealed`, atomically and durably.
    /// `record` is its plaintext, for non-secret metadata only.
    fn write(&self, slot: &Slot, sealed: &[u8], record: &[u8]) -> Result<(), StoreError>;
    /// Replaces the sealed bytes of the record in `slot` with the same
    /// record sealed anew (key rotation): not a use of the record.
    fn reseal(&self, slot: &Slot, sealed: &[u8]) -> Result<(), StoreError>;
    /// Removes the record in `slot`; a missing record is not an error.
    fn delete(&self, slot: &Slot) -> Result<(), StoreError>;
    /// Every slot holding a record.
    fn slots(&self) -> Result<Vec<Slot>, StoreError>;
    /// The salt of this store's passphrase key, created on first use.
    fn passphrase_salt(&self) -> Result<[u8; PASSPHRASE_SALT_LEN], StoreError>;
    /// How errors name the record in `slot` ("the record file …").
    fn describe(&self, slot: &Slot) -> String;
    /// The directory or file the records are in, for logs.
    fn place(&self) -> &Path;
}

/// Sealed records on a [`Medium`], with a rotatable key and per-account locks.
pub(crate) struct SealedStore<M: Medium> {
    medium: M,
    keys: KeyRing,
    locks: KeyLocks,
    rotation: Mutex<()>,
}

impl<M: Medium> SealedStore<M> {
    /// Records on `medium` under `key`, locked with lock files in
    /// `locks_directory` (which must exist).
    pub(crate) fn new(medium: M, key: StoreKey, locks_directory: PathBuf) -> Self {
        SealedStore {
            medium,
            keys: KeyRing::new(key),
            locks: KeyLocks::new(locks_directory),
            rotation: Mutex::new(()),
        }
    }

    /// Records on `medium` under the key derived from `passphrase` with the
    /// medium's salt (Argon2id: tens of milliseconds, on purpose).
    pub(crate) fn with_passphrase(medium: M, passphrase: &str, locks_directory: PathBuf) -> Result<Self, StoreError> {
        let key = StoreKey::from_passphrase(passphrase, &medium.passphrase_salt()?)?;
        Ok(Self::new(medium, key, locks_directory))
    }

    /// Where the sealed bytes are.
    pub(crate) fn medium(&self) -> &M {
        &self.medium
    }

    /// The lock file of the account `binding` stands for.
    #[cfg(test)]
    pub(crate) fn lock_path(&self, binding: &AccountBinding) -> PathBuf {
        self.locks.path_for(binding)
    }

    /// The id of the key records are written with (16 hex digits, safe to log).
    pub(crate) fn key_id(&self) -> String {
        self.keys.current().id_hex()
    }

    /// The record of `account`, opened; `None` if there is none.
    pub(crate) fn load(&self, account: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let slot = Slot::of(account);
        let Some(bytes) = self.medium.read(&slot)? else {
            return Ok(None);
        };
        let key = self.keys.for_record(envelope::key_id(&bytes));
        let mut record = envelope::open(&key, &slot.binding, &bytes, &self.medium.describe(&slot))?;
        Ok(Some(std::mem::take(&mut *record)))
    }

    /// Seals `record` under the current key and writes it for `account`.
    pub(crate) fn save(&self, account: &str, record: Vec<u8>) -> Result<(), StoreError> {
        let record = Zeroizing::new(record);
        let slot = Slot::of(account);
        let sealed = envelope::seal(&self.keys.current(), &slot.binding, &record)?;
        self.medium.write(&slot, &sealed, &record)
    }

    /// Removes the record of `account`.
    pub(crate) fn delete(&self, account: &str) -> Result<(), StoreError> {
        self.medium.delete(&Slot::of(account))
    }

    /// `TokenStore::lock`.
    pub(crate) fn lock(&self, account: &str, timeout_ms: i64) -> Result<(), StoreError> {
        self.locks.lock(account, lock_wait(timeout_ms))
    }

    /// `TokenStore::unlock`.
    pub(crate) fn unlock(&self, account: &str) -> Result<(), StoreError> {
        self.locks.unlock(account)
    }

    /// Locks the record in `slot` for an admin task, held until the file is
    /// dropped; `what` names it in errors.
    pub(crate) fn lock_slot(&self, slot: &Slot, timeout: Duration, what: &str) -> Result<File, StoreError> {
        lock_file(&self.locks.path_for(&slot.binding), timeout, what)
    }

    /// Re-encrypts every record under `new_key` (32 bytes); see the module docs.
    pub(crate) fn rotate_key(&self, new_key: Vec<u8>) -> Result<i64, StoreError> {
        self.rotate(StoreKey::from_bytes(&Zeroizing::new(new_key))?)
    }

    /// Re-encrypts every record under the key derived from `new_passphrase`
    /// with this store's salt.
    pub(crate) fn rotate_passphrase(&self, new_passphrase: String) -> Result<i64, StoreError> {
        let new_passphrase = Zeroizing::new(new_passphrase);
        let salt = self.medium.passphrase_salt()?;
        self.rotate(StoreKey::from_passphrase(&new_passphrase, &salt)?)
    }

    fn rotate(&self, new: StoreKey) -> Result<i64, StoreError> {
        let _one_rotation_at_a_time = self.rotation.lock();
        let new = Arc::new(new);
        let old = self.keys.current();
        for slot in self.medium.slots()? {
            if let Some(bytes) = self.medium.read(&slot)? {
                let key = if envelope::key_id(&bytes) == Some(new.id()) {
                    &new
                } else {
                    &old
                };
                let location = format!("{} (key rotation, nothing changed)", self.medium.describe(&slot));
                envelope::open(key, &slot.binding, &bytes, &location)?;
            }
        }
        self.keys.begin_rotation(new.clone());
        let mut rotated = 0;
        for _pass in 0..2 {
            let this_pass = self.rotate_pass(&old, &new)?;
            rotated += this_pass;
            if this_pass == 0 {
                break;
            }
        }
        self.keys.finish_rotation();
        tracing::info!(place = %self.medium.place().display(), rotated, key_id = %new.id_hex(), "store key rotated");
        Ok(rotated)
    }

    /// Re-seals, each under its lock, the records not yet under `new`.
    fn rotate_pass(&self, old: &StoreKey, new: &StoreKey) -> Result<i64, StoreError> {
        let mut rotated = 0;
        for slot in self.medium.slots()? {
            let location = format!("{} (key rotation)", self.medium.describe(&slot));
            let _lock = self.lock_slot(&slot, ADMIN_LOCK_TIMEOUT, &location)?;
            let Some(bytes) = self.medium.read(&slot)? else {
                continue; // deleted meanwhile
            };
            if envelope::key_id(&bytes) == Some(new.id()) {
                continue; // already rotated, or saved under the new key meanwhile
            }
            let record = envelope::open(old, &slot.binding, &bytes, &location)?;
            self.medium
                .reseal(&slot, &envelope::seal(new, &slot.binding, &record)?)?;
            rotated += 1;
        }
        Ok(rotated)
    }
}
