//! The `Retry-After` and `Date` header readers (`endpoint/http_headers.rs`,
//! RFC 9110 §10.2.3 and §6.6.1). The input is the header's value.
//!
//! Properties: no panic; a `Retry-After` of digits is that many seconds; a
//! date-valued one is a wait no longer than until the year 9999; a `Date`
//! is whole seconds between 1970 and 9999 and reads back the same when
//! formatted again.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tokenkeep::fuzzing::{retry_after_secs, server_date_ms};
use tokenkeep_fuzz::MAX_HTTP_DATE_MS;

fuzz_target!(|data: &[u8]| {
    let Some(retry_after) = retry_after_secs(data) else {
        return; // not a header value at all: reqwest would not hand it over
    };
    // The readers take the value only when it is visible ASCII (what
    // `HeaderValue::to_str` accepts); `str::trim` then trims ASCII spaces.
    let visible_ascii = data.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b));
    let text = visible_ascii
        .then(|| std::str::from_utf8(data).ok().map(str::trim))
        .flatten();
    if let Some(secs) = text.and_then(|t| t.parse::<u64>().ok()) {
        assert_eq!(retry_after, Some(secs));
    } else if let Some(wait) = retry_after {
        assert!(
            wait.saturating_mul(1000) <= MAX_HTTP_DATE_MS as u64,
            "a wait of {wait} s"
        );
    }

    let date = server_date_ms(data).expect("valid header value");
    if let Some(ms) = date {
        assert!((0..=MAX_HTTP_DATE_MS).contains(&ms), "{ms}");
        assert_eq!(ms % 1000, 0);
        let again = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms as u64));
        assert_eq!(server_date_ms(again.as_bytes()), Some(Some(ms)), "{again}");
    }
});
