//! The two response headers tokenkeep reads: `Retry-After` and `Date`.
//!
//! `Retry-After` (RFC 9110 §10.2.3) is either a number of seconds or an
//! HTTP date; both are turned into seconds to wait. `Date` (RFC 9110 §6.6.1)
//! is the server's clock, used to turn absolute expiry timestamps into
//! lifetimes.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};

/// Seconds to wait according to `Retry-After`, if present and readable.
pub(crate) fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).map(|d| d.as_secs()).unwrap_or(0))
}

/// The server's `Date` header as Unix milliseconds.
pub(crate) fn server_date_ms(headers: &HeaderMap) -> Option<i64> {
    let value = headers.get(DATE)?.to_str().ok()?;
    let at = httpdate::parse_http_date(value).ok()?;
    let ms = at.duration_since(UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_secs(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after_secs(&h), Some(7));
        let future = httpdate::fmt_http_date(SystemTime::now() + std::time::Duration::from_secs(120));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&future).expect("header"));
        let secs = retry_after_secs(&h).expect("date");
        assert!((118..=120).contains(&secs), "{secs}");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after_secs(&h), None);
    }

    #[test]
    fn date_header() {
        let mut h = HeaderMap::new();
        h.insert(DATE, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(server_date_ms(&h), Some(784_111_777_000));
    }
}
