//! A token endpoint's non-2xx answer (RFC 6749 §5.2) with any status,
//! content type and body, and the secrets the request carried.
//!
//! Input: four lines, then the body:
//!
//! ```text
//! status          (a number; anything else reads as 400)
//! content-type    (`-` for none)
//! retry-after     (seconds; anything else reads as none)
//! secrets         (space-separated: what the request sent)
//! body…
//! ```
//!
//! Properties: no panic; no error text (`Display` or `Debug`) contains a
//! secret that was sent; a 5xx or 429 is transient and never ends the
//! session (`InvalidGrant`); an `HttpStatus` keeps the `Retry-After`; the
//! server-supplied text in an error is bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeep::fuzzing::error_from_response;
use tokenkeep_fuzz::{assert_absent, assert_absent_debug, lines, secret_like};

fuzz_target!(|data: &[u8]| {
    let (head, body) = lines(data, 4);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let status = text(head[0]).trim().parse::<u16>().unwrap_or(400);
    let content_type = text(head[1]);
    let content_type = (content_type != "-").then_some(content_type.as_str());
    let retry_after = text(head[2]).trim().parse::<u64>().ok();
    let secrets_line = text(head[3]);
    let secrets: Vec<&str> = secrets_line.split(' ').filter(|s| !s.is_empty()).collect();

    let error = error_from_response(status, content_type, retry_after, body, &secrets);

    for secret in secrets.iter().filter(|s| secret_like(s)) {
        assert_absent(&error.display, secret, "a token endpoint error");
        assert_absent_debug(&error.debug, secret, "a token endpoint error's Debug");
    }
    if status >= 500 || status == 429 {
        assert!(error.transient, "{status} is not transient: {error:?}");
        assert_ne!(error.kind, "InvalidGrant", "{status} ended the session");
    }
    if error.kind == "HttpStatus" {
        assert_eq!(error.retry_after_secs, retry_after);
    }
    // Descriptions, codes and the content type are cut at 300 characters.
    let len = error.display.chars().count();
    assert!(len <= 1_000, "an error of {len} characters: {}", error.display);
});
