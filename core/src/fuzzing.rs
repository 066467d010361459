//! Thin entry points to the parsers that read bytes from outside, for the
//! fuzz targets in `fuzz/` (feature `fuzzing`, hidden, no semver promise).
//!
//! Every function here delegates to the code the SDK runs; none adds logic.
//! Errors come back as [`ErrorText`] (what a caller or a log line would see)
//! because the internal error type is private.
//!
//! The parsers' modules are crate-visible for this module's sake only
//! (`endpoint::error_response`, `store::envelope`, `store::store_key`): the
//! fuzz targets run the exact code of the SDK.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, DATE, RETRY_AFTER};

use crate::error::Error;
use crate::secret::Secret;
use crate::{DeviceAuthorization, RefreshPolicy, ResponseMapping, StoreError, TokenSet};

use crate::endpoint::error_response;
use crate::store::{envelope, store_key};

/// An error as the outside world sees it.
#[derive(Debug, Clone)]
pub struct ErrorText {
    /// The `Display` text (what the public error says).
    pub display: String,
    /// The `Debug` text of the internal error (what a log line may print).
    pub debug: String,
    /// Whether a retry may succeed.
    pub transient: bool,
    /// The `Retry-After` the error carries, if any.
    pub retry_after_secs: Option<u64>,
    /// The internal variant's name.
    pub kind: &'static str,
}

impl From<Error> for ErrorText {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::InvalidGrant { .. } => "InvalidGrant",
            Error::InvalidClient { .. } => "InvalidClient",
            Error::OAuth { .. } => "OAuth",
            Error::HttpStatus { .. } => "HttpStatus",
            Error::Transport { .. } => "Transport",
            Error::RetryLater { .. } => "RetryLater",
            Error::MalformedResponse { .. } => "MalformedResponse",
            Error::Authorization { .. } => "Authorization",
            Error::Configuration { .. } => "Configuration",
            Error::Storage { .. } => "Storage",
            Error::NotSignedIn { .. } => "NotSignedIn",
            Error::SessionEnded { .. } => "SessionEnded",
            Error::Internal { .. } => "Internal",
        };
        ErrorText {
            display: error.to_string(),
            debug: format!("{error:?}"),
            transient: error.is_transient(),
            retry_after_secs: error.retry_after_secs(),
            kind,
        }
    }
}

/// `token_response::parse_token_response`: a token endpoint's 2xx body.
pub fn parse_token_response(
    body: &[u8],
    mapping: &ResponseMapping,
    received_at_ms: i64,
    server_date_ms: Option<i64>,
) -> Result<TokenSet, ErrorText> {
    crate::token_response::parse_token_response(body, mapping, received_at_ms, server_date_ms).map_err(Into::into)
}

/// `endpoint::error_response::error_from_response`: a non-2xx answer, with
/// the secrets the request carried.
pub fn error_from_response(
    status: u16,
    content_type: Option<&str>,
    retry_after_secs: Option<u64>,
    body: &[u8],
    sent_secrets: &[&str],
) -> ErrorText {
    let secrets: Vec<Secret> = sent_secrets.iter().map(|s| Secret::new(*s)).collect();
    let refs: Vec<&Secret> = secrets.iter().collect();
    error_response::error_from_response(status, content_type, retry_after_secs, body, &refs).into()
}

/// A decoded store record (`store::record::Record`).
pub struct DecodedRecord {
    /// The record's generation.
    pub generation: u64,
    /// Its tokens.
    pub tokens: TokenSet,
    /// The refresh-in-flight marker as JSON, if there is one.
    pub refresh_in_flight_json: Option<String>,
}

/// `store::record::decode`.
pub fn decode_record(bytes: &[u8], key: &str) -> Result<DecodedRecord, ErrorText> {
    let record = crate::store::record::decode(bytes, key).map_err(Error::from)?;
    Ok(DecodedRecord {
        generation: record.generation,
        refresh_in_flight_json: record
            .refresh_in_flight
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default()),
        tokens: record.tokens,
    })
}

/// Decodes `bytes` and encodes the record again with
/// `store::record::encode_with_marker`, as a session rewriting it would.
pub fn reencode_record(bytes: &[u8], key: &str, saved_at_ms: i64) -> Result<Vec<u8>, ErrorText> {
    let record = crate::store::record::decode(bytes, key).map_err(Error::from)?;
    let encoded = crate::store::record::encode_with_marker(
        &record.tokens,
        record.generation,
        saved_at_ms,
        record.refresh_in_flight.as_ref(),
    )
    .map_err(Error::from)?;
    Ok(encoded.to_vec())
}

/// Encodes `tokens` as a store record (`store::record::encode_with_marker`,
/// no marker), as a session saving them would.
pub fn encode_record(tokens: &TokenSet, generation: u64, saved_at_ms: i64) -> Result<Vec<u8>, ErrorText> {
    Ok(
        crate::store::record::encode_with_marker(tokens, generation, saved_at_ms, None)
            .map_err(Error::from)?
            .to_vec(),
    )
}

/// `store::record::peek_metadata`: `(generation, refresh_token_expires_at_ms)`.
pub fn peek_record_metadata(bytes: &[u8]) -> Option<(u64, Option<i64>)> {
    crate::store::record::peek_metadata(bytes).map(|m| (m.generation, m.refresh_token_expires_at_ms))
}

/// The shortest sealed record (header and tag around an empty record).
pub const ENVELOPE_MIN_LEN: usize = envelope::MIN_LEN;

fn store_key(key: &[u8; 32]) -> Result<store_key::StoreKey, StoreError> {
    store_key::StoreKey::from_bytes(key)
}

/// `store::envelope::seal` under `key`, bound to `account`.
pub fn seal_record(key: &[u8; 32], account: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let binding = envelope::AccountBinding::of(account);
    envelope::seal(&store_key(key)?, &binding, plaintext)
}

/// `store::envelope::open` under `key`, bound to `account`.
pub fn open_record(key: &[u8; 32], account: &str, bytes: &[u8], location: &str) -> Result<Vec<u8>, StoreError> {
    let binding = envelope::AccountBinding::of(account);
    envelope::open(&store_key(key)?, &binding, bytes, location).map(|p| p.to_vec())
}

/// `store::envelope::key_id` as hex, if `bytes` look like a sealed record.
pub fn sealed_key_id_hex(bytes: &[u8]) -> Option<String> {
    envelope::key_id(bytes).map(|id| store_key::hex(&id))
}

/// `store::envelope::AccountBinding::from_hex`, back to hex: the file
/// store reads bindings from file names.
pub fn binding_from_hex(text: &str) -> Option<String> {
    envelope::AccountBinding::from_hex(text).map(|b| b.to_hex())
}

/// The key id of `key` as hex.
pub fn key_id_hex(key: &[u8; 32]) -> Result<String, StoreError> {
    Ok(store_key(key)?.id_hex())
}

/// `pkce::code_from_callback`: the code a redirect carries.
pub fn code_from_callback(callback_url: &str, expected_state: &str) -> Result<String, ErrorText> {
    crate::pkce::code_from_callback(callback_url, expected_state)
        .map(|code| code.expose().to_owned())
        .map_err(Into::into)
}

/// `DeviceAuthorization::parse`: a device authorization answer (RFC 8628 §3.2).
pub fn parse_device_authorization(body: &[u8]) -> Result<Arc<DeviceAuthorization>, ErrorText> {
    DeviceAuthorization::parse(body).map_err(Into::into)
}

/// The device code of a parsed answer (sensitive).
pub fn device_code(device: &DeviceAuthorization) -> String {
    device.device_code().expose().to_owned()
}

/// The wait before the next poll.
pub fn device_poll_interval(device: &DeviceAuthorization) -> Duration {
    device.poll_interval()
}

/// Answers `slow_down` once.
pub fn device_slow_down(device: &DeviceAuthorization) {
    device.slow_down()
}

/// Whether the device code has expired, and how long it is still valid.
pub fn device_time_left(device: &DeviceAuthorization) -> (bool, Duration) {
    (device.expired(), device.time_left())
}

/// `deadline::device_polling` under the default policy: how long a
/// blocking `complete_device_authorization` waits.
pub fn device_polling_deadline(device: &DeviceAuthorization) -> Duration {
    crate::deadline::device_polling(&RefreshPolicy::default(), device)
}

fn one_header(name: reqwest::header::HeaderName, value: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    Some(headers)
}

/// `http_headers::retry_after_secs` for a `Retry-After` of `value`
/// (`None` when `value` is not a valid header value at all).
pub fn retry_after_secs(value: &[u8]) -> Option<Option<u64>> {
    one_header(RETRY_AFTER, value).map(|h| crate::endpoint::http_headers::retry_after_secs(&h))
}

/// `http_headers::server_date_ms` for a `Date` of `value`
/// (`None` when `value` is not a valid header value at all).
pub fn server_date_ms(value: &[u8]) -> Option<Option<i64>> {
    one_header(DATE, value).map(|h| crate::endpoint::http_headers::server_date_ms(&h))
}
