//! The envelope: how the persistent stores encrypt a record, bound to its account.
//!
//! A sealed record is XChaCha20-Poly1305 over the record's bytes, with a
//! fresh random 24-byte nonce for every write (192-bit nonces are safe to
//! draw at random: no counter to keep across processes, no realistic chance
//! of a repeat). Layout:
//!
//! ```text
//! offset  length  field
//!      0       4  magic  b"TKEY"
//!      4       1  format version, 1
//!      5       8  key id of the key that sealed it (see store_key.rs)
//!     13      24  nonce
//!     37       n  ciphertext (n = record length)
//!   37+n      16  Poly1305 tag
//! ```
//!
//! The associated data (authenticated, not stored) is the 37 header bytes
//! followed by the record's [`AccountBinding`]: the first 16 bytes of
//! `SHA-256(account id)`. So a header edit, a flipped bit anywhere, or a
//! record copied under another account's name all fail authentication. The
//! binding is a hash of the account id rather than the id itself because the
//! file store names each file after those same 16 bytes and stores the id
//! nowhere: it can re-encrypt a file (key rotation) knowing only its name.
//! 128 bits of SHA-256 keep two accounts' bindings apart.
//!
//! [`open`] tells failures apart, each naming the record's `location`:
//! not a tokenkeep record, unknown format version, truncated (all
//! `StoreError::Corrupt`), sealed under another key (`StoreError::WrongKey`,
//! with both key ids; the key id is checked before the tag, so a wrong key
//! is never misreported as tampering), and failed authentication
//! (`StoreError::Corrupt`). No message quotes the record.
//!
//! Caveat: the header (format version, key id) is readable without the key,
//! and the ciphertext length equals the record length.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::store_key::{hex, KeyId, StoreKey, KEY_ID_LEN};
use super::StoreError;

/// The first bytes of every sealed record.
pub(crate) const MAGIC: [u8; 4] = *b"TKEY";
/// The envelope format this tokenkeep writes and reads.
pub(crate) const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KEY_ID_AT: usize = MAGIC.len() + 1;
const NONCE_AT: usize = KEY_ID_AT + KEY_ID_LEN;
/// Magic, version, key id and nonce.
pub(crate) const HEADER_LEN: usize = NONCE_AT + NONCE_LEN;
/// The shortest possible sealed record (an empty plaintext).
pub(crate) const MIN_LEN: usize = HEADER_LEN + TAG_LEN;
/// The length of an account binding.
const BINDING_LEN: usize = 16;

/// What ties a sealed record to its account: the first 16 bytes of
/// SHA-256(account id). The file store's file names are its hex form.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AccountBinding([u8; BINDING_LEN]);

impl AccountBinding {
    /// The binding of `account`.
    pub(crate) fn of(account: &str) -> Self {
        let digest = Sha256::digest(account.as_bytes());
        let mut binding = [0u8; BINDING_LEN];
        binding.copy_from_slice(&digest[..BINDING_LEN]);
        AccountBinding(binding)
    }

    /// Parses the 32 lowercase hex digits [`AccountBinding::to_hex`] gives.
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        if text.len() != BINDING_LEN * 2 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut binding = [0u8; BINDING_LEN];
        for (i, byte) in binding.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(AccountBinding(binding))
    }

    /// 32 lowercase hex digits.
    pub(crate) fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

fn cipher(key: &StoreKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.expose().into())
}

fn associated_data(header: &[u8], binding: &AccountBinding) -> [u8; HEADER_LEN + BINDING_LEN] {
    let mut aad = [0u8; HEADER_LEN + BINDING_LEN];
    aad[..HEADER_LEN].copy_from_slice(&header[..HEADER_LEN]);
    aad[HEADER_LEN..].copy_from_slice(&binding.0);
    aad
}

/// Seals `plaintext` for the account `binding` stands for, under `key`.
pub(crate) fn seal(key: &StoreKey, binding: &AccountBinding, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let mut sealed = Vec::with_capacity(MIN_LEN + plaintext.len());
    sealed.extend_from_slice(&MAGIC);
    sealed.push(FORMAT_VERSION);
    sealed.extend_from_slice(&key.id());
    sealed.extend_from_slice(&nonce);
    let aad = associated_data(&sealed, binding);
    sealed.extend_from_slice(plaintext);
    let tag = cipher(key)
        .encrypt_inout_detached(&XNonce::from(nonce), &aad, sealed[HEADER_LEN..].as_mut().into())
        .map_err(|_| StoreError::Failed {
            detail: format!("could not encrypt a record of {} bytes", plaintext.len()),
        })?;
    sealed.extend_from_slice(&tag);
    Ok(sealed)
}

/// The id of the key `bytes` were sealed under, if they look like a record.
pub(crate) fn key_id(bytes: &[u8]) -> Option<KeyId> {
    if bytes.len() < HEADER_LEN || bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    bytes[KEY_ID_AT..NONCE_AT].try_into().ok()
}

/// Opens a record sealed by [`seal`]. `location` names it in errors
/// ("/path/to/file.tkrec (account `user-1`)").
pub(crate) fn open(
    key: &StoreKey,
    binding: &AccountBinding,
    bytes: &[u8],
    location: &str,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(StoreError::Corrupt {
            detail: format!(
                "{location} is not a tokenkeep record ({} bytes without the TKEY signature); it was left untouched",
                bytes.len()
            ),
        });
    }
    if let Some(&version) = bytes.get(MAGIC.len()) {
        if version != FORMAT_VERSION {
            return Err(StoreError::Corrupt {
                detail: format!(
                    "{location} has record format version {version}, this tokenkeep reads version {FORMAT_VERSION} (written by a newer tokenkeep, or damaged); it was left untouched"
                ),
            });
        }
    }
    if bytes.len() < MIN_LEN {
        return Err(StoreError::Corrupt {
            detail: format!(
                "{location} is truncated ({} bytes, a record needs at least {MIN_LEN}); it was left untouched",
                bytes.len()
            ),
        });
    }
    let record_key_id = &bytes[KEY_ID_AT..NONCE_AT];
    if record_key_id != key.id() {
        return Err(StoreError::WrongKey {
            detail: format!(
                "{location} was encrypted with key id {}, this store's key is {}; open the store with the key it was written with",
                hex(record_key_id),
                key.id_hex()
            ),
        });
    }
    let aad = associated_data(bytes, binding);
    let nonce = XNonce::try_from(&bytes[NONCE_AT..HEADER_LEN]).map_err(|_| corrupt_header(location))?;
    let tag_at = bytes.len() - TAG_LEN;
    let tag = Tag::try_from(&bytes[tag_at..]).map_err(|_| corrupt_header(location))?;
    let mut plaintext = Zeroizing::new(bytes[HEADER_LEN..tag_at].to_vec());
    cipher(key)
        .decrypt_inout_detached(&nonce, &aad, plaintext.as_mut_slice().into(), &tag)
        .map_err(|_| StoreError::Corrupt {
            detail: format!(
                "{location} failed authentication: modified, corrupted or bound to another account (key id {}); it was left untouched",
                key.id_hex()
            ),
        })?;
    Ok(plaintext)
}

fn corrupt_header(location: &str) -> StoreError {
    StoreError::Corrupt {
        detail: format!("{location} has an unreadable header; it was left untouched"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &[u8] = br#"{"schema_version":1,"tokens":{"access_token":"at_SECRET_42"}}"#;

    fn key(byte: u8) -> StoreKey {
        StoreKey::from_bytes(&[byte; 32]).expect("key")
    }

    fn detail(e: &StoreError) -> String {
        e.to_string()
    }

    #[test]
    fn seal_and_open_round_trip_with_a_fresh_nonce_each_time() {
        let binding = AccountBinding::of("user-1");
        let a = seal(&key(1), &binding, RECORD).expect("seal");
        let b = seal(&key(1), &binding, RECORD).expect("seal");
        assert_ne!(a, b, "a new nonce per write");
        assert_eq!(a.len(), MIN_LEN + RECORD.len());
        assert_eq!(&a[..4], b"TKEY");
        assert_eq!(a[4], 1);
        assert_eq!(key_id(&a), Some(key(1).id()));
        assert_eq!(open(&key(1), &binding, &a, "r").expect("open").as_slice(), RECORD);
        assert!(!a.windows(12).any(|w| w == b"at_SECRET_42"));
    }

    #[test]
    fn another_account_fails_authentication() {
        let sealed = seal(&key(1), &AccountBinding::of("user-1"), RECORD).expect("seal");
        let e = open(&key(1), &AccountBinding::of("user-2"), &sealed, "record X").expect_err("bound");
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
        assert!(detail(&e).contains("record X failed authentication"), "{e}");
    }

    #[test]
    fn another_key_is_reported_with_both_key_ids() {
        let binding = AccountBinding::of("user-1");
        let sealed = seal(&key(1), &binding, RECORD).expect("seal");
        let e = open(&key(2), &binding, &sealed, "record X").expect_err("wrong key");
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
        let text = detail(&e);
        assert!(
            text.contains(&key(1).id_hex()) && text.contains(&key(2).id_hex()),
            "{text}"
        );
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let binding = AccountBinding::of("user-1");
        let sealed = seal(&key(1), &binding, RECORD).expect("seal");
        for i in 0..sealed.len() {
            let mut damaged = sealed.clone();
            damaged[i] ^= 0x01;
            let e = open(&key(1), &binding, &damaged, "r").expect_err("detected");
            let expected = match i {
                0..4 => "not a tokenkeep record",
                4 => "format version",
                5..13 => "encrypted with key id",
                _ => "failed authentication",
            };
            assert!(detail(&e).contains(expected), "byte {i}: {e}");
            assert!(!detail(&e).contains("SECRET"));
        }
    }

    #[test]
    fn short_and_foreign_bytes_are_told_apart() {
        let binding = AccountBinding::of("user-1");
        let sealed = seal(&key(1), &binding, RECORD).expect("seal");
        for len in [0, 3, 5, 20, MIN_LEN - 1] {
            let e = open(&key(1), &binding, &sealed[..len], "r").expect_err("short");
            assert!(matches!(e, StoreError::Corrupt { .. }));
            assert!(detail(&e).contains("is truncated"), "{len}: {e}");
        }
        let e = open(&key(1), &binding, &sealed[..MIN_LEN], "r").expect_err("cut");
        assert!(detail(&e).contains("failed authentication"), "{e}");
        let e = open(&key(1), &binding, b"{\"access_token\":\"x\"}", "r").expect_err("json");
        assert!(detail(&e).contains("not a tokenkeep record"), "{e}");
        let e = open(&key(1), &binding, b"TK", "r").expect_err("prefix");
        assert!(detail(&e).contains("truncated"), "{e}");
    }

    #[test]
    fn bindings_round_trip_through_hex() {
        let b = AccountBinding::of("user-1");
        let text = b.to_hex();
        assert_eq!(text.len(), 32);
        assert!(AccountBinding::from_hex(&text) == Some(b));
        assert!(AccountBinding::from_hex("xyz").is_none());
        assert!(AccountBinding::from_hex(&text.to_uppercase()).is_none());
    }
}
