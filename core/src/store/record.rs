//! The record a session writes to its store: versioned, tagged JSON.
//!
//! ```json
//! {"schema_version": 1, "generation": 7, "saved_at_ms": 1759750000000,
//!  "tokens": {"access_token": "…", "refresh_token": "…", …}}
//! ```
//!
//! While a refresh is on its way to the server, the record also carries a
//! `refresh_in_flight` marker (written under the store lock just before the
//! request is sent, gone with the record that stores the answer). A process
//! that finds it after a crash knows the server may already have rotated the
//! stored refresh token, and says so if the server then refuses it; a
//! session waiting for the lock reads from it that another session's attempt
//! failed transiently and when to try again. The field is optional, so older
//! readers of schema 1 ignore it.
//!
//! `schema_version` lets a later tokenkeep upgrade old records explicitly;
//! a record from a *newer* schema is refused with a clear error rather than
//! misread. `generation` increases with every write, so a writer can tell
//! that the record changed since it read it. A record that cannot be read is
//! a [`RecordError`] that names the key and never quotes the bytes; the
//! session turns it into a storage error (or, for a record it could not
//! encode, an internal one).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::store::StorageErrorKind;
use crate::token_set::TokenSet;

/// Why a record could not be encoded or decoded. The detail names the key,
/// never the record's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordError {
    /// The stored bytes are not a record this tokenkeep can read, or were
    /// written by a newer one (`kind` says which); the record was left as it is.
    #[error("{detail}")]
    Unreadable {
        /// `Corrupt` for damage, `Other` for a newer schema.
        kind: StorageErrorKind,
        /// Which key, and what is wrong.
        detail: String,
    },
    /// The tokens could not be encoded: a bug in tokenkeep.
    #[error("{detail}")]
    Unencodable {
        /// What failed.
        detail: String,
    },
}

/// The schema this tokenkeep writes.
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct RecordV1 {
    schema_version: u32,
    generation: u64,
    saved_at_ms: i64,
    tokens: TokenSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_in_flight: Option<RefreshMarker>,
}

/// A refresh that was sent (or is about to be) and whose answer is not yet
/// stored. No secret: times, an opaque session id and an error text that
/// was already scrubbed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshMarker {
    /// The session that wrote it (random per session; compared, never shown).
    pub session_id: u64,
    /// When the first attempt was sent (Unix ms on the writer's clock).
    pub started_at_ms: i64,
    /// After a transient failure: other sessions wait until then (Unix ms).
    #[serde(default)]
    pub retry_not_before_ms: Option<i64>,
    /// How the last attempt failed, if it did (scrubbed error text).
    #[serde(default)]
    pub last_failure: Option<String>,
}

#[derive(Deserialize)]
struct VersionOnly {
    schema_version: u32,
}

/// A decoded record.
pub(crate) struct Record {
    pub generation: u64,
    pub tokens: TokenSet,
    /// A refresh that started and did not store its answer (see the module doc).
    pub refresh_in_flight: Option<RefreshMarker>,
}

/// Encodes `tokens` as generation `generation`.
#[cfg(test)]
pub(crate) fn encode(tokens: &TokenSet, generation: u64, saved_at_ms: i64) -> Result<Zeroizing<Vec<u8>>, RecordError> {
    encode_with_marker(tokens, generation, saved_at_ms, None)
}

/// Encodes `tokens` as generation `generation` with a refresh-in-flight marker.
pub(crate) fn encode_with_marker(
    tokens: &TokenSet,
    generation: u64,
    saved_at_ms: i64,
    refresh_in_flight: Option<&RefreshMarker>,
) -> Result<Zeroizing<Vec<u8>>, RecordError> {
    let record = RecordV1 {
        schema_version: SCHEMA_VERSION,
        generation,
        saved_at_ms,
        tokens: tokens.clone(),
        refresh_in_flight: refresh_in_flight.cloned(),
    };
    serde_json::to_vec(&record)
        .map(Zeroizing::new)
        .map_err(|e| RecordError::Unencodable {
            detail: format!("could not encode the token record: {e}"),
        })
}

/// Decodes the record stored under `key`: one JSON parse when the record
/// is readable (every refresh re-reads the record under the store lock); a
/// record that is not, is parsed again only to say why.
pub(crate) fn decode(bytes: &[u8], key: &str) -> Result<Record, RecordError> {
    let record: RecordV1 = match serde_json::from_slice(bytes) {
        Ok(record) => record,
        Err(e) => return Err(unreadable(bytes, key, &e)),
    };
    if record.schema_version > SCHEMA_VERSION {
        return Err(newer_schema(key, record.schema_version));
    }
    Ok(Record {
        generation: record.generation,
        tokens: record.tokens,
        refresh_in_flight: record.refresh_in_flight,
    })
}

/// Why `bytes` are not a record this tokenkeep reads (`full` is the error
/// of parsing them as one).
fn unreadable(bytes: &[u8], key: &str, full: &serde_json::Error) -> RecordError {
    let version: VersionOnly = match serde_json::from_slice(bytes) {
        Ok(version) => version,
        Err(e) => {
            return RecordError::Unreadable { kind: StorageErrorKind::Corrupt, detail: format!(
                "the stored record for key `{key}` is corrupt ({} bytes, not a tokenkeep record: {} at line {} column {}); it was left untouched",
                bytes.len(),
                if e.is_eof() { "it ends early" } else { "unreadable JSON" },
                e.line(),
                e.column()
            ) }
        }
    };
    if version.schema_version > SCHEMA_VERSION {
        return newer_schema(key, version.schema_version);
    }
    RecordError::Unreadable { kind: StorageErrorKind::Corrupt, detail: format!(
        "the stored record for key `{key}` is corrupt (schema {} but a field is missing or of the wrong type at line {} column {}); it was left untouched",
        version.schema_version,
        full.line(),
        full.column()
    ) }
}

fn newer_schema(key: &str, schema_version: u32) -> RecordError {
    RecordError::Unreadable { kind: StorageErrorKind::Other, detail: format!(
        "the stored record for key `{key}` has schema version {schema_version}, written by a newer tokenkeep (this one reads up to {SCHEMA_VERSION}); upgrade tokenkeep"
    ) }
}

/// What a store may index a record by, without decoding its secrets.
///
/// Stores that keep metadata beside the sealed record (the SQLite store's
/// `generation` and `refresh_expires_at_ms` columns, for purging) read it
/// here from the plaintext before sealing. Neither value is a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordMetadata {
    /// The record's generation.
    pub generation: u64,
    /// When the refresh token expires (ms on the session's clock), if it does.
    pub refresh_token_expires_at_ms: Option<i64>,
    /// When the access token expires (ms on the session's clock), if stated.
    pub access_token_expires_at_ms: Option<i64>,
    /// When the tokens were received: the last refresh (ms on the session's clock).
    pub received_at_ms: Option<i64>,
    /// Whether the record carries a refresh-in-flight marker.
    pub refresh_in_flight: bool,
}

#[derive(Deserialize)]
struct MetadataOnly {
    schema_version: u32,
    generation: u64,
    tokens: TokenTimesOnly,
    #[serde(default)]
    refresh_in_flight: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct TokenTimesOnly {
    #[serde(default)]
    refresh_token: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    refresh_token_expires_at_ms: Option<i64>,
    #[serde(default)]
    expires_at_ms: Option<i64>,
    #[serde(default)]
    received_at_ms: Option<i64>,
}

/// The metadata of a record this tokenkeep can read, or `None` for bytes
/// that are not one (a store used by foreign code for other data, a newer
/// schema). Token strings are skipped, not copied.
pub(crate) fn peek_metadata(bytes: &[u8]) -> Option<RecordMetadata> {
    let peek: MetadataOnly = serde_json::from_slice(bytes).ok()?;
    if peek.schema_version > SCHEMA_VERSION {
        return None;
    }
    Some(RecordMetadata {
        generation: peek.generation,
        refresh_token_expires_at_ms: peek.tokens.refresh_token.and(peek.tokens.refresh_token_expires_at_ms),
        access_token_expires_at_ms: peek.tokens.expires_at_ms,
        received_at_ms: peek.tokens.received_at_ms,
        refresh_in_flight: peek.refresh_in_flight.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = TokenSet::bearer("at", Some("rt".into()), Some(60), Some("read".into()), 5);
        let bytes = encode(&t, 3, 10).expect("encode");
        let back = decode(&bytes, "k").expect("decode");
        assert_eq!(back.generation, 3);
        assert_eq!(back.tokens.access_token(), "at");
        assert_eq!(back.tokens.refresh_token().as_deref(), Some("rt"));
        assert_eq!(back.tokens.expires_at_unix_ms(), Some(60_005));
    }

    #[test]
    fn the_refresh_marker_round_trips_and_is_optional() {
        let t = TokenSet::bearer("at", Some("rt".into()), Some(60), None, 5);
        let marker = RefreshMarker {
            session_id: 7,
            started_at_ms: 100,
            retry_not_before_ms: Some(200),
            last_failure: Some("HTTP 503".into()),
        };
        let bytes = encode_with_marker(&t, 3, 10, Some(&marker)).expect("encode");
        assert_eq!(decode(&bytes, "k").expect("decode").refresh_in_flight, Some(marker));
        let plain = encode(&t, 3, 10).expect("encode");
        assert!(!String::from_utf8_lossy(&plain).contains("refresh_in_flight"));
        assert_eq!(decode(&plain, "k").expect("decode").refresh_in_flight, None);
    }

    #[test]
    fn version_one_fixture_still_reads() {
        // A record as tokenkeep 0.1 wrote it; keep this fixture when the schema moves on.
        let v1 = br#"{"schema_version":1,"generation":2,"saved_at_ms":1,"tokens":{"access_token":"at","refresh_token":"rt","token_type":"Bearer","received_at_ms":0,"expires_at_ms":1000,"refresh_token_expires_at_ms":null,"scope":null,"id_token":null,"extra":"{}"}}"#;
        let r = decode(v1, "user-1").expect("decodes");
        assert_eq!(r.tokens.refresh_token().as_deref(), Some("rt"));
    }

    #[test]
    fn corrupt_and_future_records_are_clear_errors() {
        let e = decode(br#"{"schema_version":1,"generation":2,"tok"#, "user-1")
            .err()
            .expect("corrupt");
        assert!(
            matches!(&e, RecordError::Unreadable { kind: StorageErrorKind::Corrupt, detail } if detail.contains("user-1") && detail.contains("corrupt")),
            "{e:?}"
        );
        let e = decode(br#"{"schema_version":9}"#, "user-1").err().expect("future");
        assert!(e.to_string().contains("newer tokenkeep"), "{e}");
        let e = decode(
            br#"{"schema_version":1,"generation":"x","tokens":{"access_token":"at_SECRET"}}"#,
            "k",
        )
        .err()
        .expect("bad");
        assert!(!e.to_string().contains("at_SECRET"));
    }

    #[test]
    fn metadata_is_peeked_without_the_tokens() {
        let mut t = TokenSet::bearer("at", Some("rt".into()), Some(60), None, 5);
        let bytes = encode(&t, 4, 10).expect("encode");
        assert_eq!(
            peek_metadata(&bytes),
            Some(RecordMetadata {
                generation: 4,
                refresh_token_expires_at_ms: None,
                access_token_expires_at_ms: Some(60_005),
                received_at_ms: Some(5),
                refresh_in_flight: false,
            })
        );
        let v1 = br#"{"schema_version":1,"generation":2,"saved_at_ms":1,"tokens":{"access_token":"at","refresh_token":"rt","token_type":"Bearer","received_at_ms":0,"expires_at_ms":1000,"refresh_token_expires_at_ms":9000,"scope":null,"id_token":null,"extra":"{}"}}"#;
        assert_eq!(
            peek_metadata(v1).map(|m| m.refresh_token_expires_at_ms),
            Some(Some(9000))
        );
        t = TokenSet::bearer("at", None, Some(60), None, 5);
        let no_refresh = encode(&t, 1, 10).expect("encode");
        assert_eq!(
            peek_metadata(&no_refresh).map(|m| m.refresh_token_expires_at_ms),
            Some(None)
        );
        assert_eq!(peek_metadata(b"not json"), None);
        assert_eq!(
            peek_metadata(br#"{"schema_version":9,"generation":1,"tokens":{}}"#),
            None
        );
    }
}
