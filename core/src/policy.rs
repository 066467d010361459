//! When to refresh, how long to wait, how often to retry.
//!
//! A [`RefreshPolicy`] is plain data with documented defaults. The two
//! windows it defines are capped by the token's own lifetime, so a policy
//! written for hour-long tokens never makes a 5-second token refresh on every
//! call:
//!
//! * **clock skew** (`clock_skew_secs`, default 10 s, at most 10 % of the
//!   token's lifetime): a token is treated as expired this long before its
//!   `expires_at`, so a request sent just before expiry does not arrive just
//!   after it.
//! * **refresh ahead** (`refresh_ahead_secs`, default 60 s, at most half the
//!   token's lifetime): inside this window the current token is still served
//!   while one refresh runs in the background.
//! * **refresh-token keep-alive** (`refresh_token_keepalive_secs`, default
//!   one hour, at most half the refresh token's lifetime): when the refresh
//!   token itself is this close to expiry, a refresh is due even if the
//!   access token is fresh, so a session that is used (or kept alive by the
//!   proactive refresher) never dies of an expired refresh token.
//!
//! Retries cover transient failures only (network errors, timeouts, HTTP 5xx
//! and 429): exponential backoff from `initial_backoff_ms` doubling up to
//! `max_backoff_ms`, with jitter, and a server's `Retry-After` honoured up to
//! `max_retry_after_secs`.
//!
//! Answers are read with a size cap (see `capped_body`): `max_response_bytes`
//! (64 KiB) for the authorization server, `max_api_response_bytes` (16 MiB)
//! for `send`.

use std::time::Duration;

use crate::error::Error;

/// The largest share of a token's lifetime the refresh-ahead window may take.
pub const MAX_REFRESH_AHEAD_FRACTION: f64 = 0.5;
/// The largest share of a token's lifetime the clock-skew allowance may take.
pub const MAX_CLOCK_SKEW_FRACTION: f64 = 0.1;
/// The largest share of a refresh token's lifetime the keep-alive window may take.
pub const MAX_KEEPALIVE_FRACTION: f64 = 0.5;

/// The default of [`RefreshPolicy::max_response_bytes`]: 64 KiB, far more
/// than any token answer (a few KiB even with an ID token).
pub const DEFAULT_MAX_RESPONSE_BYTES: i64 = 64 * 1024;
/// The default of [`RefreshPolicy::max_api_response_bytes`]: 16 MiB.
pub const DEFAULT_MAX_API_RESPONSE_BYTES: i64 = 16 * 1024 * 1024;

/// How a session decides when to refresh and how it retries.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct RefreshPolicy {
    /// Refresh this many seconds before the access token expires, while still
    /// serving it (capped at half the token's lifetime). Default 60.
    #[uniffi(default = 60)]
    pub refresh_ahead_secs: i64,
    /// Treat a token as expired this many seconds early (capped at 10 % of its
    /// lifetime). Default 10.
    #[uniffi(default = 10)]
    pub clock_skew_secs: i64,
    /// Refresh when the refresh token has less than this left (capped at half
    /// its lifetime); 0 turns keep-alive off. Default 3600.
    #[uniffi(default = 3600)]
    pub refresh_token_keepalive_secs: i64,
    /// How many times a transient failure is retried. Default 3.
    #[uniffi(default = 3)]
    pub max_retries: i64,
    /// The first retry's backoff in milliseconds; doubles per retry. Default 250.
    #[uniffi(default = 250)]
    pub initial_backoff_ms: i64,
    /// The longest backoff between two retries. Default 30 000.
    #[uniffi(default = 30000)]
    pub max_backoff_ms: i64,
    /// The longest `Retry-After` that is waited out; a longer one fails at
    /// once with a transient error that carries it. Default 60.
    #[uniffi(default = 60)]
    pub max_retry_after_secs: i64,
    /// TCP/TLS connect timeout in milliseconds. Default 10 000.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: i64,
    /// Whole-request timeout in milliseconds. Default 30 000.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: i64,
    /// Refresh in the background when a refresh is due, without waiting for
    /// a caller to ask for a token. Default false.
    #[uniffi(default = false)]
    pub proactive_refresh: bool,
    /// How long to wait for the store's lock on the account while another
    /// process refreshes it, in milliseconds. Default 60 000.
    #[uniffi(default = 60000)]
    pub store_lock_timeout_ms: i64,
    /// The largest answer read from the authorization server (token,
    /// revocation and device authorization endpoints, error bodies
    /// included), in bytes; a larger one is refused unread with a `BadResponse`
    /// error. Default 65 536 (64 KiB).
    #[uniffi(default = 65536)]
    pub max_response_bytes: i64,
    /// The largest response body `send` reads, in bytes; a larger one is
    /// refused with a `BadResponse` error after reading at most this much.
    /// Default 16 777 216 (16 MiB).
    #[uniffi(default = 16777216)]
    pub max_api_response_bytes: i64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            refresh_ahead_secs: 60,
            clock_skew_secs: 10,
            refresh_token_keepalive_secs: 3600,
            max_retries: 3,
            initial_backoff_ms: 250,
            max_backoff_ms: 30_000,
            max_retry_after_secs: 60,
            connect_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            proactive_refresh: false,
            store_lock_timeout_ms: 60_000,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_api_response_bytes: DEFAULT_MAX_API_RESPONSE_BYTES,
        }
    }
}

/// Returns `window_ms` capped at `fraction` of `lifetime_ms`.
pub(crate) fn capped_window_ms(window_secs: i64, fraction: f64, lifetime_ms: i64) -> i64 {
    let window = window_secs.max(0).saturating_mul(1000);
    let cap = (lifetime_ms.max(0) as f64 * fraction) as i64;
    window.min(cap)
}

impl RefreshPolicy {
    /// The backoff before retry number `attempt` (1-based), with equal jitter:
    /// half the exponential delay plus a random share of the other half.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = non_negative(self.initial_backoff_ms).saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(non_negative(self.max_backoff_ms));
        let half = capped / 2;
        let jitter = if half == 0 {
            0
        } else {
            rand::random::<u64>() % (half + 1)
        };
        Duration::from_millis(half + jitter)
    }

    /// The wait before sending again after the `failures`-th consecutive
    /// transient failure, or `None` when it is not retried: the retries are
    /// used up, or the server's `Retry-After` is longer than
    /// `max_retry_after_secs` (the caller then fails at once, carrying it).
    pub(crate) fn retry_wait(&self, failures: u32, retry_after_secs: Option<u64>) -> Option<Duration> {
        if i64::from(failures) > self.max_retries {
            return None;
        }
        match retry_after_secs {
            Some(secs) if secs > non_negative(self.max_retry_after_secs) => None,
            Some(secs) => Some(Duration::from_secs(secs)),
            None => Some(self.backoff(failures)),
        }
    }

    /// How long to leave the account alone after a refresh failed for good
    /// (all retries used): the backoff after `failures` failures in a row,
    /// or the server's `Retry-After` if longer. Saturates; never panics.
    pub(crate) fn pause_after_failure(&self, failures: u32, retry_after_secs: Option<u64>) -> Duration {
        let backoff = self.backoff(failures);
        match retry_after_secs {
            Some(secs) => backoff.max(Duration::from_secs(secs)),
            None => backoff,
        }
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(non_negative(self.connect_timeout_ms).max(1))
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(non_negative(self.request_timeout_ms).max(1))
    }

    /// How long to wait for the store's lock, in milliseconds.
    pub(crate) fn store_lock_timeout_ms(&self) -> u64 {
        non_negative(self.store_lock_timeout_ms)
    }

    /// Checks that every number is in range: a negative duration, count
    /// or size is a configuration error naming the field.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let fields = [
            ("refresh_ahead_secs", self.refresh_ahead_secs),
            ("clock_skew_secs", self.clock_skew_secs),
            ("refresh_token_keepalive_secs", self.refresh_token_keepalive_secs),
            ("max_retries", self.max_retries),
            ("initial_backoff_ms", self.initial_backoff_ms),
            ("max_backoff_ms", self.max_backoff_ms),
            ("max_retry_after_secs", self.max_retry_after_secs),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("store_lock_timeout_ms", self.store_lock_timeout_ms),
            ("max_response_bytes", self.max_response_bytes),
            ("max_api_response_bytes", self.max_api_response_bytes),
        ];
        for (name, value) in fields {
            if value < 0 {
                return Err(Error::configuration(format!(
                    "RefreshPolicy.{name} is {value}; it must be 0 or more (see RefreshPolicy's documentation for its default)"
                )));
            }
        }
        if self.max_retries > i64::from(u32::MAX) {
            return Err(Error::configuration(format!(
                "RefreshPolicy.max_retries is {}; at most {} retries are supported",
                self.max_retries,
                u32::MAX
            )));
        }
        Ok(())
    }
}

/// `value` as an unsigned number; a negative one (refused by
/// [`RefreshPolicy::check`]) counts as 0.
pub(crate) fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

display_as_debug!(RefreshPolicy);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_capped_by_lifetime() {
        // 60 s ahead on a 5 s token is capped at 2.5 s.
        assert_eq!(capped_window_ms(60, MAX_REFRESH_AHEAD_FRACTION, 5_000), 2_500);
        // On an hour-long token the configured window wins.
        assert_eq!(capped_window_ms(60, MAX_REFRESH_AHEAD_FRACTION, 3_600_000), 60_000);
        assert_eq!(capped_window_ms(10, MAX_CLOCK_SKEW_FRACTION, 5_000), 500);
    }

    #[test]
    fn retries_end_after_max_retries_and_on_a_long_retry_after() {
        let policy = RefreshPolicy {
            max_retries: 2,
            max_retry_after_secs: 60,
            ..RefreshPolicy::default()
        };
        assert!(policy.retry_wait(1, None).is_some());
        assert_eq!(policy.retry_wait(2, Some(3)), Some(Duration::from_secs(3)));
        assert_eq!(policy.retry_wait(3, None), None);
        assert_eq!(policy.retry_wait(1, Some(61)), None);
        // Issue 10, case 10: a huge Retry-After saturates instead of overflowing.
        assert_eq!(policy.retry_wait(1, Some(u64::MAX)), None);
        assert_eq!(
            policy.pause_after_failure(1, Some(u64::MAX)),
            Duration::from_secs(u64::MAX)
        );
        let extreme = RefreshPolicy {
            initial_backoff_ms: i64::MAX,
            max_backoff_ms: i64::MAX,
            ..RefreshPolicy::default()
        };
        assert!(extreme.backoff(u32::MAX) <= Duration::from_millis(u64::MAX));
    }

    #[test]
    fn backoff_doubles_and_is_capped_with_jitter() {
        let policy = RefreshPolicy {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            ..RefreshPolicy::default()
        };
        for _ in 0..100 {
            let first = policy.backoff(1).as_millis();
            assert!((50..=100).contains(&first), "{first}");
            let third = policy.backoff(3).as_millis();
            assert!((200..=400).contains(&third), "{third}");
            let tenth = policy.backoff(10).as_millis();
            assert!((500..=1_000).contains(&tenth), "{tenth}");
        }
    }
}
