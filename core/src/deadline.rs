//! How long a blocking call waits before it gives up.
//!
//! A `_blocking` call waits on its own thread for work that runs on
//! tokenkeep's runtime. That wait is bounded by the most the work can take
//! under the session's [`RefreshPolicy`], plus a margin. A wait that reaches
//! its deadline returns a transient error; the work goes on in the
//! background, so a refresh that ends later still stores its tokens.
//!
//! One token endpoint call (a refresh, a code exchange, a revocation, the
//! start of a device sign-in) at its slowest:
//!
//! ```text
//! (max_retries + 1) × (store_lock_timeout_ms                 each attempt waits for the store's lock
//!                      + connect_timeout_ms + request_timeout_ms)   and times out
//! + max_retries × max(max_backoff_ms, max_retry_after_secs × 1000)  the longest wait between attempts
//! + MARGIN
//! ```
//!
//! With the default policy: 4 × (60 s + 40 s) + 3 × 60 s + 5 s = 585 s.
//! (Each attempt takes the lock anew: a refresh releases it across its waits.)
//! `send` may refresh, send, refresh again after a 401 and send again: two
//! token endpoint calls and two API requests. Device sign-in polling lasts
//! until the device code expires, so its deadline is the code's remaining
//! lifetime plus one poll interval (the last sleep), one `slow_down` step,
//! and one token endpoint call (the last poll and the store write).

use std::time::Duration;

use crate::device::{DeviceAuthorization, SLOW_DOWN_STEP_SECS};
use crate::policy::{non_negative, RefreshPolicy};

/// Added to every deadline: scheduling, a store write, a listener hand-off.
pub(crate) const MARGIN: Duration = Duration::from_secs(5);

/// No deadline is longer than this (a policy of `u64::MAX`s stays finite).
pub(crate) const LONGEST: Duration = Duration::from_secs(24 * 3600);

/// One API request (no retries): connect plus the whole request.
fn one_request_ms(policy: &RefreshPolicy) -> u64 {
    non_negative(policy.connect_timeout_ms).saturating_add(non_negative(policy.request_timeout_ms))
}

/// One token endpoint call under the store lock, all retries included.
fn token_call_ms(policy: &RefreshPolicy) -> u64 {
    let retries = non_negative(policy.max_retries);
    let longest_pause =
        non_negative(policy.max_backoff_ms).max(non_negative(policy.max_retry_after_secs).saturating_mul(1000));
    let one_attempt = policy.store_lock_timeout_ms().saturating_add(one_request_ms(policy));
    retries
        .saturating_add(1)
        .saturating_mul(one_attempt)
        .saturating_add(retries.saturating_mul(longest_pause))
}

fn with_margin(ms: u64) -> Duration {
    Duration::from_millis(ms).saturating_add(MARGIN).min(LONGEST)
}

/// The deadline of a call that makes one token endpoint call.
pub(crate) fn token_call(policy: &RefreshPolicy) -> Duration {
    with_margin(token_call_ms(policy))
}

/// The deadline of `send`: refresh, request, refresh after a 401, request.
pub(crate) fn send(policy: &RefreshPolicy) -> Duration {
    with_margin(
        token_call_ms(policy)
            .saturating_add(one_request_ms(policy))
            .saturating_mul(2),
    )
}

/// The deadline of polling `device` to its end.
pub(crate) fn device_polling(policy: &RefreshPolicy, device: &DeviceAuthorization) -> Duration {
    let last_sleep = device
        .poll_interval()
        .min(device.time_left())
        .saturating_add(Duration::from_secs(SLOW_DOWN_STEP_SECS));
    let ms = u64::try_from(device.time_left().saturating_add(last_sleep).as_millis()).unwrap_or(u64::MAX);
    with_margin(ms.saturating_add(token_call_ms(policy)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_waits_at_most_585_seconds_for_a_refresh() {
        assert_eq!(token_call(&RefreshPolicy::default()), Duration::from_secs(585));
        // Twice (580 s + 40 s), plus the margin.
        assert_eq!(send(&RefreshPolicy::default()), Duration::from_secs(1_245));
    }

    #[test]
    fn every_term_of_the_policy_counts() {
        let policy = RefreshPolicy {
            store_lock_timeout_ms: 1_000,
            max_retries: 2,
            connect_timeout_ms: 100,
            request_timeout_ms: 400,
            max_backoff_ms: 2_000,
            max_retry_after_secs: 1,
            ..RefreshPolicy::default()
        };
        // 3 × (1 000 + 500) + 2 × max(2 000, 1 000) + 5 000
        assert_eq!(token_call(&policy), Duration::from_millis(13_500));
        let retry_after_wins = RefreshPolicy {
            max_retry_after_secs: 10,
            ..policy
        };
        // 3 × (1 000 + 500) + 2 × 10 000 + 5 000
        assert_eq!(token_call(&retry_after_wins), Duration::from_millis(29_500));
    }

    #[test]
    fn huge_policies_stay_finite() {
        let policy = RefreshPolicy {
            store_lock_timeout_ms: i64::MAX,
            request_timeout_ms: i64::MAX,
            ..RefreshPolicy::default()
        };
        assert_eq!(token_call(&policy), LONGEST);
        assert_eq!(send(&policy), LONGEST);
    }

    #[test]
    fn device_polling_lasts_as_long_as_the_device_code() {
        let device = DeviceAuthorization::parse(
            br#"{"device_code":"d","user_code":"u","verification_uri":"https://example.com/device","expires_in":600,"interval":5}"#,
        )
        .expect("parses");
        let policy = RefreshPolicy::default();
        let deadline = device_polling(&policy, &device);
        // 600 s of code (a little less has elapsed) + 5 s + 5 s + 580 s + 5 s.
        assert!(deadline <= Duration::from_secs(1_195), "{deadline:?}");
        assert!(deadline > Duration::from_secs(1_190), "{deadline:?}");
    }

    /// Found by the fuzzer: an absurd `interval` used to overflow here.
    #[test]
    fn an_absurd_poll_interval_stays_bounded_by_the_code() {
        let device = DeviceAuthorization::parse(
            br#"{"device_code":"d","user_code":"u","verification_uri":"https://example.com/device","expires_in":600,"interval":18446744073709551615}"#,
        )
        .expect("parses");
        device.slow_down();
        assert_eq!(device.interval_secs(), i64::MAX, "slow_down saturates");
        let deadline = device_polling(&RefreshPolicy::default(), &device);
        // No sleep outlasts the code: at most twice its 600 s, + 5 + 580 + 5.
        assert!(deadline <= Duration::from_secs(1_790), "{deadline:?}");
    }
}
