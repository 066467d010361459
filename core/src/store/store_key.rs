//! [`StoreKey`]: the 256-bit key the persistent stores encrypt records with.
//!
//! A key comes either from the platform (32 random bytes kept in the
//! Keychain, the Android Keystore, a KMS or a secrets manager: the
//! recommended way, [`StoreKey::from_bytes`]) or from a passphrase stretched
//! with Argon2id ([`StoreKey::from_passphrase`], for a CLI or a server whose
//! operator types or mounts a passphrase). The parameters are OWASP's
//! recommended Argon2id minimum (19 MiB, 2 passes, 1 lane): about 20–50 ms on
//! a laptop, deliberately slow for an attacker guessing offline, and paid
//! once when a store opens.
//!
//! Every key has a **key id**: the first 8 bytes of
//! `SHA-256("tokenkeep-store-key-id/v1" || key)`, shown as 16 hex digits.
//! Records carry the id of the key that sealed them, so opening a store with
//! the wrong key is reported as exactly that ("encrypted with key id X, this
//! store's key is Y") rather than as corruption. The id reveals nothing
//! usable about a random key; for a passphrase key it lets an attacker check
//! a guess, which the record's authentication tag allows anyway, at the same
//! Argon2id cost per guess.
//!
//! The key bytes are zeroized when the key is dropped and never shown:
//! `Debug` prints the key id only.
//!
//! [`KeyRing`] is the store-internal holder of a key that can be rotated:
//! while a rotation runs, records under the previous key stay readable.

use std::fmt;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, Version};
use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::StoreError;

/// The length of a store key in bytes (256 bits).
pub const STORE_KEY_LEN: usize = 32;
/// Argon2id memory cost in KiB for passphrase keys (OWASP: 19 MiB).
pub const PASSPHRASE_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes over the memory for passphrase keys (OWASP: 2).
pub const PASSPHRASE_ITERATIONS: u32 = 2;
/// Argon2id lanes for passphrase keys (OWASP: 1).
pub const PASSPHRASE_PARALLELISM: u32 = 1;
/// The length of the random salt a store keeps for its passphrase key.
pub const PASSPHRASE_SALT_LEN: usize = 16;

/// The length of a key id in bytes.
pub(crate) const KEY_ID_LEN: usize = 8;
/// Domain separation for key ids, so an id is never a hash of the bare key.
const KEY_ID_CONTEXT: &[u8] = b"tokenkeep-store-key-id/v1";

/// A key id: which key sealed a record.
pub(crate) type KeyId = [u8; KEY_ID_LEN];

/// A 256-bit record encryption key with its key id. Zeroized on drop;
/// `Debug` shows the key id only.
pub struct StoreKey {
    bytes: Zeroizing<[u8; STORE_KEY_LEN]>,
    id: KeyId,
}

impl StoreKey {
    /// A key from exactly [`STORE_KEY_LEN`] (32) bytes, for example random
    /// bytes kept in the platform's key store.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let mut key = Zeroizing::new([0u8; STORE_KEY_LEN]);
        if bytes.len() != STORE_KEY_LEN {
            return Err(StoreError::Failed {
                detail: format!(
                    "a store key must be exactly {STORE_KEY_LEN} bytes (256 bits), got {} bytes; generate 32 random bytes and keep them in the platform's key store, or open the store with a passphrase",
                    bytes.len()
                ),
            });
        }
        key.copy_from_slice(bytes);
        Ok(Self::from_array(key))
    }

    /// A key stretched from `passphrase` and `salt` with Argon2id
    /// ([`PASSPHRASE_MEMORY_KIB`], [`PASSPHRASE_ITERATIONS`],
    /// [`PASSPHRASE_PARALLELISM`]). The same passphrase and salt always give
    /// the same key. Slow on purpose (tens of milliseconds).
    pub fn from_passphrase(passphrase: &str, salt: &[u8]) -> Result<Self, StoreError> {
        if passphrase.is_empty() {
            return Err(StoreError::Failed {
                detail: "the store passphrase is empty".into(),
            });
        }
        let params = Params::new(
            PASSPHRASE_MEMORY_KIB,
            PASSPHRASE_ITERATIONS,
            PASSPHRASE_PARALLELISM,
            Some(STORE_KEY_LEN),
        )
        .map_err(|e| StoreError::Failed {
            detail: format!("invalid Argon2id parameters: {e}"),
        })?;
        let mut key = Zeroizing::new([0u8; STORE_KEY_LEN]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), salt, key.as_mut_slice())
            .map_err(|e| StoreError::Failed {
                detail: format!(
                    "could not derive the store key from the passphrase ({} byte salt): {e}",
                    salt.len()
                ),
            })?;
        Ok(Self::from_array(key))
    }

    fn from_array(bytes: Zeroizing<[u8; STORE_KEY_LEN]>) -> Self {
        let digest = Sha256::new()
            .chain_update(KEY_ID_CONTEXT)
            .chain_update(bytes.as_slice())
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        StoreKey { bytes, id }
    }

    /// The key id as 16 hex digits (safe to show and log).
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    /// The key id's bytes.
    pub(crate) fn id(&self) -> KeyId {
        self.id
    }

    /// The key itself. Sensitive: only the envelope's cipher reads it.
    pub(crate) fn expose(&self) -> &[u8; STORE_KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreKey")
            .field("id", &self.id_hex())
            .field("bytes", &"[redacted]")
            .finish()
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A store's key, with the previous one kept readable while a rotation runs.
///
/// Writes always use the current key. Reads pick the key whose id the record
/// names: the previous key only while [`KeyRing::begin_rotation`] has not
/// been followed by [`KeyRing::finish_rotation`].
pub(crate) struct KeyRing {
    keys: RwLock<Keys>,
}

struct Keys {
    current: Arc<StoreKey>,
    previous: Option<Arc<StoreKey>>,
}

impl KeyRing {
    pub(crate) fn new(key: StoreKey) -> Self {
        KeyRing {
            keys: RwLock::new(Keys {
                current: Arc::new(key),
                previous: None,
            }),
        }
    }

    /// The key new records are sealed with.
    pub(crate) fn current(&self) -> Arc<StoreKey> {
        self.keys.read().current.clone()
    }

    /// The key to open a record sealed under `record_key_id` with: the
    /// previous key during a rotation if it is that one, else the current
    /// key (which then reports the mismatch).
    pub(crate) fn for_record(&self, record_key_id: Option<KeyId>) -> Arc<StoreKey> {
        let keys = self.keys.read();
        match (&keys.previous, record_key_id) {
            (Some(previous), Some(id)) if previous.id() == id => previous.clone(),
            _ => keys.current.clone(),
        }
    }

    /// Makes `new` the current key, keeping the old one readable; returns the old one.
    pub(crate) fn begin_rotation(&self, new: Arc<StoreKey>) -> Arc<StoreKey> {
        let mut keys = self.keys.write();
        let old = std::mem::replace(&mut keys.current, new);
        keys.previous = Some(old.clone());
        old
    }

    /// Forgets the previous key: every record is under the current one.
    pub(crate) fn finish_rotation(&self) {
        self.keys.write().previous = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_must_be_32_bytes() {
        let e = StoreKey::from_bytes(&[1u8; 16]).expect_err("too short");
        assert!(
            matches!(&e, StoreError::Failed { detail } if detail.contains("exactly 32 bytes") && detail.contains("got 16")),
            "{e:?}"
        );
        assert!(StoreKey::from_bytes(&[1u8; 33]).is_err());
        assert!(StoreKey::from_bytes(&[1u8; 32]).is_ok());
    }

    #[test]
    fn the_key_id_is_a_domain_separated_hash_and_debug_shows_only_it() {
        let key = StoreKey::from_bytes(&[7u8; 32]).expect("key");
        let mut hasher = Sha256::new();
        hasher.update(b"tokenkeep-store-key-id/v1");
        hasher.update([7u8; 32]);
        let expected = hex(&hasher.finalize()[..8]);
        assert_eq!(key.id_hex(), expected);
        assert_eq!(key.id_hex().len(), 16);
        let debug = format!("{key:?}");
        assert!(debug.contains(&expected) && debug.contains("redacted"), "{debug}");
        assert!(!debug.contains("7, 7"), "{debug}");
        assert_ne!(StoreKey::from_bytes(&[8u8; 32]).expect("key").id(), key.id());
    }

    #[test]
    fn passphrase_keys_are_deterministic_per_salt() {
        let a = StoreKey::from_passphrase("correct horse", b"0123456789abcdef").expect("a");
        let b = StoreKey::from_passphrase("correct horse", b"0123456789abcdef").expect("b");
        let c = StoreKey::from_passphrase("correct horse", b"fedcba9876543210").expect("c");
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.id(), c.id());
        assert!(StoreKey::from_passphrase("", b"0123456789abcdef").is_err());
        assert!(
            StoreKey::from_passphrase("pw", b"short").is_err(),
            "Argon2 needs an 8+ byte salt"
        );
    }

    #[test]
    fn the_ring_reads_the_previous_key_only_during_a_rotation() {
        let old = StoreKey::from_bytes(&[1u8; 32]).expect("old");
        let old_id = old.id();
        let ring = KeyRing::new(old);
        let new = Arc::new(StoreKey::from_bytes(&[2u8; 32]).expect("new"));
        let new_id = new.id();
        ring.begin_rotation(new);
        assert_eq!(ring.current().id(), new_id);
        assert_eq!(ring.for_record(Some(old_id)).id(), old_id);
        ring.finish_rotation();
        assert_eq!(ring.for_record(Some(old_id)).id(), new_id);
    }
}
