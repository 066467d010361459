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
//!   when a holder dies, and (on Unix) present only while held. A store whose medium is remote brings its own
//!   [`AccountLocks`] instead (the PostgreSQL store's per-account leases,
//!   which also fence its medium's writes).
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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use zeroize::Zeroizing;

use super::envelope::{self, AccountBinding};
use super::key_lock::{lock_file, HeldLock, KeyLocks};
use super::store_key::{KeyRing, StoreKey, PASSPHRASE_SALT_LEN};
use super::StoreError;

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

/// A store's per-account locks: `TokenStore::lock`/`unlock`, and a lock on
/// one slot for an admin task (rotation, purge), held while its guard lives.
pub(crate) trait AccountLocks: Send + Sync {
    /// What holds an admin task's lock; dropping it releases the lock.
    type SlotGuard;
    /// `TokenStore::lock`.
    fn lock(&self, account: &str, timeout_ms: i64) -> Result<(), StoreError>;
    /// `TokenStore::unlock`.
    fn unlock(&self, account: &str) -> Result<(), StoreError>;
    /// Locks `slot` for an admin task, waiting at most `timeout`; `what`
    /// names it in errors.
    fn lock_slot(&self, slot: &Slot, timeout: Duration, what: &str) -> Result<Self::SlotGuard, StoreError>;
}

impl AccountLocks for KeyLocks {
    type SlotGuard = HeldLock;

    fn lock(&self, account: &str, timeout_ms: i64) -> Result<(), StoreError> {
        KeyLocks::lock(self, account, timeout_ms)
    }

    fn unlock(&self, account: &str) -> Result<(), StoreError> {
        KeyLocks::unlock(self, account)
    }

    fn lock_slot(&self, slot: &Slot, timeout: Duration, what: &str) -> Result<HeldLock, StoreError> {
        lock_file(&self.path_for(&slot.binding), timeout, what)
    }
}

/// Sealed records on a [`Medium`], with a rotatable key and per-account
/// locks (lock files unless the store brings its own [`AccountLocks`]).
pub(crate) struct SealedStore<M: Medium, L: AccountLocks = KeyLocks> {
    medium: M,
    keys: KeyRing,
    locks: L,
    rotation: Mutex<()>,
}

impl<M: Medium> SealedStore<M, KeyLocks> {
    /// Records on `medium` under `key`, locked with lock files in
    /// `locks_directory` (which must exist).
    pub(crate) fn new(medium: M, key: StoreKey, locks_directory: PathBuf) -> Self {
        Self::with_locks(medium, key, KeyLocks::new(locks_directory))
    }

    /// Records on `medium` under the key derived from `passphrase` with the
    /// medium's salt (Argon2id: tens of milliseconds, on purpose).
    pub(crate) fn with_passphrase(medium: M, passphrase: &str, locks_directory: PathBuf) -> Result<Self, StoreError> {
        let key = passphrase_key(&medium, passphrase)?;
        Ok(Self::new(medium, key, locks_directory))
    }

    /// The lock file of the account `binding` stands for.
    #[cfg(test)]
    pub(crate) fn lock_path(&self, binding: &AccountBinding) -> PathBuf {
        self.locks.path_for(binding)
    }
}

/// The key derived from `passphrase` with `medium`'s salt (Argon2id: tens
/// of milliseconds, on purpose).
pub(crate) fn passphrase_key(medium: &impl Medium, passphrase: &str) -> Result<StoreKey, StoreError> {
    StoreKey::from_passphrase(passphrase, &medium.passphrase_salt()?)
}

impl<M: Medium, L: AccountLocks> SealedStore<M, L> {
    /// Records on `medium` under `key`, locked with `locks`.
    pub(crate) fn with_locks(medium: M, key: StoreKey, locks: L) -> Self {
        SealedStore {
            medium,
            keys: KeyRing::new(key),
            locks,
            rotation: Mutex::new(()),
        }
    }

    /// Where the sealed bytes are.
    pub(crate) fn medium(&self) -> &M {
        &self.medium
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
        self.locks.lock(account, timeout_ms)
    }

    /// `TokenStore::unlock`.
    pub(crate) fn unlock(&self, account: &str) -> Result<(), StoreError> {
        self.locks.unlock(account)
    }

    /// Locks the record in `slot` for an admin task, held until the returned
    /// guard is dropped; `what` names it in errors.
    pub(crate) fn lock_slot(&self, slot: &Slot, timeout: Duration, what: &str) -> Result<L::SlotGuard, StoreError> {
        self.locks.lock_slot(slot, timeout, what)
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

/// `impl TokenStore` for a store type whose records live in its `sealed`
/// field (a [`SealedStore`]): the five calls go to it as they are. One
/// definition for the file, SQLite and PostgreSQL stores.
macro_rules! token_store_over_sealed {
    ($store:ty) => {
        impl $crate::store::TokenStore for $store {
            fn load(&self, key: String) -> Result<Option<Vec<u8>>, $crate::store::StoreError> {
                self.sealed.load(&key)
            }

            fn save(&self, key: String, record: Vec<u8>) -> Result<(), $crate::store::StoreError> {
                self.sealed.save(&key, record)
            }

            fn delete(&self, key: String) -> Result<(), $crate::store::StoreError> {
                self.sealed.delete(&key)
            }

            fn lock(&self, key: String, timeout_ms: i64) -> Result<(), $crate::store::StoreError> {
                self.sealed.lock(&key, timeout_ms)
            }

            fn unlock(&self, key: String) -> Result<(), $crate::store::StoreError> {
                self.sealed.unlock(&key)
            }
        }
    };
}
pub(crate) use token_store_over_sealed;

/// The guarantees every sealed store keeps, written once;
/// `sealed_store_contract!` runs them against one store and its medium.
#[cfg(test)]
pub(crate) mod contract {
    use std::path::Path;
    use std::sync::Arc;

    use super::{Medium, Slot};
    use crate::store::{record, StoreError, TokenStore};
    use crate::token_set::TokenSet;

    const ACCESS: &str = "at_SEALED_STORE_SECRET_0123456789";

    /// A persistent store as the contract sees it.
    pub(crate) trait StoreUnderTest: TokenStore + std::fmt::Debug + Sized {
        type Medium: Medium;
        /// Opens the store at `place` with the key of 32 `key_byte`s.
        fn open_at(place: &Path, key_byte: u8) -> Arc<Self>;
        /// Opens the store at `place` with a passphrase key.
        fn open_at_with_passphrase(place: &Path, passphrase: &str) -> Arc<Self>;
        /// Where the sealed bytes are.
        fn medium(&self) -> &Self::Medium;
        /// The exported `key_id`, `rotate_key` and `rotate_passphrase`.
        fn current_key_id(&self) -> String;
        fn rotate_to(&self, key_byte: u8) -> Result<i64, StoreError>;
        fn rotate_to_passphrase(&self, passphrase: &str) -> Result<i64, StoreError>;
    }

    fn record_bytes(generation: u64) -> Vec<u8> {
        let tokens = TokenSet::bearer(ACCESS, Some("rt_SEALED".into()), Some(3600), None, 1_000);
        record::encode(&tokens, generation, 2_000).expect("encode").to_vec()
    }

    fn sealed_bytes<S: StoreUnderTest>(store: &S, account: &str) -> Option<Vec<u8>> {
        store.medium().read(&Slot::of(account)).expect("read")
    }

    fn load<S: StoreUnderTest>(store: &S, account: &str) -> Option<Vec<u8>> {
        store.load(account.into()).expect("load")
    }

    pub(crate) fn a_wrong_key_is_named_and_the_record_kept<S: StoreUnderTest>(place: &Path) {
        let writer = S::open_at(place, 1);
        writer.save("user-1".into(), record_bytes(1)).expect("save");
        let before = sealed_bytes(&*writer, "user-1");
        let reader = S::open_at(place, 2);
        let e = reader.load("user-1".into()).expect_err("wrong key");
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
        let text = e.to_string();
        for needle in [
            place.display().to_string(),
            writer.current_key_id(),
            reader.current_key_id(),
        ] {
            assert!(text.contains(&needle) && text.contains("user-1"), "{needle}: {text}");
        }
        assert_eq!(sealed_bytes(&*writer, "user-1"), before, "kept as it was");
    }

    /// Damage (truncated, a flipped bit, not a record) and a record copied
    /// to another account are `Corrupt`, named, and left as they are.
    pub(crate) fn damaged_or_moved_records_are_corrupt_named_and_kept<S: StoreUnderTest>(place: &Path) {
        let store = S::open_at(place, 1);
        store.save("alice".into(), record_bytes(1)).expect("save");
        let sealed = sealed_bytes(&*store, "alice").expect("sealed");
        let mut flipped = sealed.clone();
        flipped[sealed.len() - 30] ^= 0x40;
        let cases = [
            ("alice", "is truncated", sealed[..20].to_vec()),
            ("alice", "failed authentication", flipped),
            (
                "alice",
                "not a tokenkeep record",
                b"this is not a record at all".to_vec(),
            ),
            ("alice", "not a tokenkeep record", record_bytes(1)),
            ("mallory", "failed authentication", sealed),
        ];
        for (account, expected, bytes) in cases {
            store.medium().write(&Slot::of(account), &bytes, &[]).expect("damage");
            let e = store.load(account.into()).expect_err(expected);
            assert!(matches!(e, StoreError::Corrupt { .. }), "{expected}: {e:?}");
            let text = e.to_string();
            assert!(text.contains(expected) && text.contains(account), "{text}");
            assert!(
                text.contains(&place.display().to_string()) && !text.contains(ACCESS),
                "{text}"
            );
            assert_eq!(
                sealed_bytes(&*store, account),
                Some(bytes),
                "{expected}: left untouched"
            );
        }
    }

    pub(crate) fn a_passphrase_store_reopens_with_its_passphrase_only<S: StoreUnderTest>(place: &Path) {
        S::open_at_with_passphrase(place, "correct horse")
            .save("user-1".into(), record_bytes(1))
            .expect("save");
        let again = S::open_at_with_passphrase(place, "correct horse");
        assert_eq!(load(&*again, "user-1"), Some(record_bytes(1)));
        let other = S::open_at_with_passphrase(place, "battery staple");
        assert!(matches!(other.load("user-1".into()), Err(StoreError::WrongKey { .. })));
    }

    pub(crate) fn a_passphrase_can_be_rotated<S: StoreUnderTest>(place: &Path) {
        let store = S::open_at_with_passphrase(place, "old pass");
        store.save("a".into(), record_bytes(1)).expect("save");
        assert_eq!(store.rotate_to_passphrase("new pass").expect("rotate"), 1);
        let reopened = S::open_at_with_passphrase(place, "new pass");
        assert_eq!(load(&*reopened, "a"), Some(record_bytes(1)));
    }

    pub(crate) fn rotation_re_encrypts_every_record_under_the_new_key<S: StoreUnderTest>(place: &Path) {
        let store = S::open_at(place, 1);
        for (i, account) in ["a", "b", "c"].into_iter().enumerate() {
            store.save(account.into(), record_bytes(i as u64)).expect("save");
        }
        let old_id = store.current_key_id();
        assert_eq!(store.rotate_to(2).expect("rotate"), 3);
        assert_ne!(store.current_key_id(), old_id);
        assert_eq!(load(&*store, "b"), Some(record_bytes(1)));
        store.save("d".into(), record_bytes(9)).expect("save after rotation");
        assert_eq!(store.rotate_to(2).expect("again"), 0, "nothing left to rotate");
        drop(store);
        let reopened = S::open_at(place, 2);
        for (i, account) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(load(&*reopened, account), Some(record_bytes(i as u64)));
        }
        let stale = S::open_at(place, 1);
        assert!(matches!(stale.load("a".into()), Err(StoreError::WrongKey { .. })));
    }

    /// `b_named_as`: how the medium's errors name the record of account `b`.
    pub(crate) fn rotation_changes_nothing_when_a_record_does_not_open<S: StoreUnderTest>(
        place: &Path,
        b_named_as: &str,
    ) {
        let store = S::open_at(place, 1);
        store.save("a".into(), record_bytes(1)).expect("save");
        S::open_at(place, 3)
            .save("b".into(), record_bytes(2))
            .expect("save under another key");
        let before = [sealed_bytes(&*store, "a"), sealed_bytes(&*store, "b")];
        let e = store.rotate_to(2).expect_err("b does not open");
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
        assert!(e.to_string().contains(b_named_as), "{e}");
        assert_eq!(
            [sealed_bytes(&*store, "a"), sealed_bytes(&*store, "b")],
            before,
            "nothing rewritten"
        );
        assert_eq!(load(&*store, "a"), Some(record_bytes(1)), "the old key still works");
        assert_eq!(load(&*S::open_at(place, 1), "a"), Some(record_bytes(1)));
    }

    pub(crate) fn the_lock_excludes_another_handle_until_unlocked_or_dropped<S: StoreUnderTest>(place: &Path) {
        let first = S::open_at(place, 1);
        let second = S::open_at(place, 1);
        first.lock("user-1".into(), 1_000).expect("lock");
        let e = second.lock("user-1".into(), 30).expect_err("held");
        assert!(
            matches!(&e, StoreError::LockTimeout { detail } if detail.contains("user-1")),
            "{e:?}"
        );
        let e = second
            .lock("user-1".into(), -5)
            .expect_err("a negative wait is no wait");
        assert!(matches!(e, StoreError::LockTimeout { .. }), "{e:?}");
        second.lock("user-2".into(), 0).expect("other accounts are free");
        first.unlock("user-1".into()).expect("unlock");
        second.lock("user-1".into(), 0).expect("free after unlock");
        // A holder that goes away without unlocking (a crashed process's
        // files are closed by the kernel) does not block anyone.
        drop(second);
        first.lock("user-1".into(), 0).expect("released with its holder");
    }

    pub(crate) fn debug_shows_the_place_and_key_id_only<S: StoreUnderTest>(place: &Path) {
        let store = S::open_at(place, 0xAB);
        let text = format!("{store:?}");
        assert!(text.contains(&place.display().to_string()), "{text}");
        assert!(text.contains(&store.current_key_id()), "{text}");
        assert!(!text.contains("171, 171") && !text.contains("abab"), "{text}");
        // 0xAB
    }

    /// One `#[test]` per contract check for a store type: `$place` maps a
    /// fresh temporary directory to where the store lives; `$b_named_as` is how
    /// its errors name the record of account `b`.
    macro_rules! sealed_store_contract {
        ($store:ty, $medium:ty, $place:expr, $b_named_as:expr) => {
            mod sealed_store_contract {
                use super::*;
                use crate::store::key_lock::testing::TempDir;
                use crate::store::sealed::contract as check;

                /// The store as the contract sees it (`open` is the test
                /// module's: the store at a path with a key of one byte).
                impl check::StoreUnderTest for $store {
                    type Medium = $medium;
                    fn open_at(place: &Path, key_byte: u8) -> Arc<Self> {
                        open(place, key_byte)
                    }
                    fn open_at_with_passphrase(place: &Path, passphrase: &str) -> Arc<Self> {
                        let place = place.to_string_lossy().into_owned();
                        <$store>::open_with_passphrase(place, passphrase.into()).expect("opens")
                    }
                    fn medium(&self) -> &$medium {
                        self.sealed.medium()
                    }
                    fn current_key_id(&self) -> String {
                        self.key_id()
                    }
                    fn rotate_to(&self, key_byte: u8) -> Result<i64, StoreError> {
                        self.sealed.rotate_key(vec![key_byte; 32])
                    }
                    fn rotate_to_passphrase(&self, passphrase: &str) -> Result<i64, StoreError> {
                        self.sealed.rotate_passphrase(passphrase.into())
                    }
                }

                fn at(test: impl FnOnce(&Path)) {
                    let dir = TempDir::new("sealed-contract");
                    let place: fn(&TempDir) -> PathBuf = $place;
                    test(&place(&dir));
                }

                #[test]
                fn a_wrong_key_is_named_and_the_record_kept() {
                    at(check::a_wrong_key_is_named_and_the_record_kept::<$store>);
                }
                #[test]
                fn damaged_or_moved_records_are_corrupt_named_and_kept() {
                    at(check::damaged_or_moved_records_are_corrupt_named_and_kept::<$store>);
                }
                #[test]
                fn a_passphrase_store_reopens_with_its_passphrase_only() {
                    at(check::a_passphrase_store_reopens_with_its_passphrase_only::<$store>);
                }
                #[test]
                fn a_passphrase_can_be_rotated() {
                    at(check::a_passphrase_can_be_rotated::<$store>);
                }
                #[test]
                fn rotation_re_encrypts_every_record_under_the_new_key() {
                    at(check::rotation_re_encrypts_every_record_under_the_new_key::<$store>);
                }
                #[test]
                fn rotation_changes_nothing_when_a_record_does_not_open() {
                    at(|place| {
                        check::rotation_changes_nothing_when_a_record_does_not_open::<$store>(place, $b_named_as)
                    });
                }
                #[test]
                fn the_lock_excludes_another_handle_until_unlocked_or_dropped() {
                    at(check::the_lock_excludes_another_handle_until_unlocked_or_dropped::<$store>);
                }
                #[test]
                fn debug_shows_the_place_and_key_id_only() {
                    at(check::debug_shows_the_place_and_key_id_only::<$store>);
                }
            }
        };
    }
    pub(crate) use sealed_store_contract;
}
