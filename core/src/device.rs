//! Sign-in on devices without a browser: the device authorization grant
//! (RFC 8628).
//!
//! A TV, a CLI or an appliance asks the authorization server for a device
//! code and a short user code (§3.1, §3.2), shows the user code and a URL,
//! and polls the token endpoint (§3.4) while the user approves on another
//! device. [`DeviceAuthorization`] is one such attempt; the session's
//! `complete_device_authorization` polls it to the end:
//!
//! * `authorization_pending`: keep polling at the interval;
//! * `slow_down`: add 5 seconds to the interval, for good (§3.5);
//! * `access_denied`: the user said no;
//! * `expired_token`, or the device code's own `expires_in` running out:
//!   start again.
//!
//! Transient failures (network, 5xx) during polling do not end it; polling
//! goes on at the interval until the device code expires. A long poll can be
//! stopped from any thread with [`DeviceAuthorization::cancel`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::Error;
use crate::secret::Secret;

/// The interval when the server does not give one (RFC 8628 §3.2).
pub const DEFAULT_POLL_INTERVAL_SECS: u64 = 5;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_SECS: u64 = 5;

/// One device sign-in attempt: what to show the user, and what to poll with.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct DeviceAuthorization {
    device_code: Secret,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_in_secs: u64,
    interval_secs: AtomicU64,
    started: Instant,
    cancelled: AtomicBool,
}

impl DeviceAuthorization {
    /// Reads a device authorization response (RFC 8628 §3.2).
    pub(crate) fn parse(body: &[u8]) -> Result<Arc<Self>, Error> {
        let malformed = |detail: &str| Error::MalformedResponse {
            detail: format!("the device authorization answer is unusable: {detail}"),
        };
        let value: Value = serde_json::from_slice(body).map_err(|_| malformed("it is not JSON"))?;
        let text = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let seconds = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
        };
        let device_code = text("device_code").ok_or_else(|| malformed("no `device_code`"))?;
        let user_code = text("user_code").ok_or_else(|| malformed("no `user_code`"))?;
        // `verification_url` is what some servers (Google) send.
        let verification_uri = text("verification_uri")
            .or_else(|| text("verification_url"))
            .ok_or_else(|| malformed("no `verification_uri`"))?;
        let expires_in_secs = seconds("expires_in").ok_or_else(|| malformed("no numeric `expires_in`"))?;
        Ok(Arc::new(DeviceAuthorization {
            device_code: Secret::new(device_code),
            user_code,
            verification_uri,
            verification_uri_complete: text("verification_uri_complete"),
            expires_in_secs,
            interval_secs: AtomicU64::new(seconds("interval").unwrap_or(DEFAULT_POLL_INTERVAL_SECS).max(1)),
            started: Instant::now(),
            cancelled: AtomicBool::new(false),
        }))
    }

    pub(crate) fn device_code(&self) -> &Secret {
        &self.device_code
    }

    /// The wait before the next poll.
    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs.load(Ordering::SeqCst))
    }

    /// Answers `slow_down`: 5 seconds more between polls, from now on.
    pub(crate) fn slow_down(&self) {
        let _ = self
            .interval_secs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |secs| {
                Some(secs.saturating_add(SLOW_DOWN_STEP_SECS))
            });
    }

    /// Whether the device code has outlived its `expires_in`.
    pub(crate) fn expired(&self) -> bool {
        self.started.elapsed() >= Duration::from_secs(self.expires_in_secs)
    }

    /// How long the device code is still valid.
    pub(crate) fn time_left(&self) -> Duration {
        Duration::from_secs(self.expires_in_secs).saturating_sub(self.started.elapsed())
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

#[uniffi::export]
impl DeviceAuthorization {
    /// The code the user types at the verification URI.
    pub fn user_code(&self) -> String {
        self.user_code.clone()
    }

    /// Where the user goes to approve.
    pub fn verification_uri(&self) -> String {
        self.verification_uri.clone()
    }

    /// The verification URI with the user code filled in (for a QR code), if given.
    pub fn verification_uri_complete(&self) -> Option<String> {
        self.verification_uri_complete.clone()
    }

    /// How long the codes are valid, in seconds from when they were issued.
    pub fn expires_in_secs(&self) -> i64 {
        i64::try_from(self.expires_in_secs).unwrap_or(i64::MAX)
    }

    /// The current poll interval in seconds (grows with `slow_down`).
    pub fn interval_secs(&self) -> i64 {
        i64::try_from(self.interval_secs.load(Ordering::SeqCst)).unwrap_or(i64::MAX)
    }

    /// Stops a `complete_device_authorization` that is polling with this
    /// attempt; it returns an `Authorization` error at its next wake-up.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"[redacted]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in_secs", &self.expires_in_secs)
            .field("interval_secs", &self.interval_secs())
            .finish()
    }
}

impl fmt::Display for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "go to {} and enter {}", self.verification_uri, self.user_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc8628_and_google_shapes() {
        let a = DeviceAuthorization::parse(
            br#"{"device_code":"dc_SECRET","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#,
        )
        .expect("parses");
        assert_eq!(a.user_code(), "WDJB-MJHT");
        assert_eq!(a.interval_secs(), 5);
        assert!(!format!("{a:?} {a}").contains("dc_SECRET"));
        let g = DeviceAuthorization::parse(
            br#"{"device_code":"d","user_code":"u","verification_url":"https://www.google.com/device","expires_in":"1800"}"#,
        )
        .expect("parses");
        assert_eq!(g.verification_uri(), "https://www.google.com/device");
        assert_eq!(g.interval_secs(), DEFAULT_POLL_INTERVAL_SECS as i64);
        g.slow_down();
        assert_eq!(
            g.interval_secs(),
            (DEFAULT_POLL_INTERVAL_SECS + SLOW_DOWN_STEP_SECS) as i64
        );
    }

    #[test]
    fn incomplete_answers_are_errors() {
        assert!(DeviceAuthorization::parse(br#"{"user_code":"u"}"#).is_err());
        assert!(DeviceAuthorization::parse(b"<html>").is_err());
    }
}
