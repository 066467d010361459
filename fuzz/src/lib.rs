//! Helpers shared by the fuzz targets in `fuzz_targets/`: input framing,
//! the "no secret in an error" check.

use std::sync::OnceLock;

/// Whether to describe each outcome on stderr (`TOKENKEEP_FUZZ_VERBOSE=1`),
/// for checking what a seed or a crash input reaches.
pub fn verbose() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("TOKENKEEP_FUZZ_VERBOSE").is_ok_and(|v| v == "1"))
}

/// The first `n` lines of `data` (without their `\n`) and the rest.
/// Missing lines are empty.
pub fn lines(data: &[u8], n: usize) -> (Vec<&[u8]>, &[u8]) {
    let mut rest = data;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                out.push(rest);
                rest = &[];
            }
        }
    }
    (out, rest)
}

/// A character of an RFC 6750 `b64token` (what access and refresh tokens,
/// codes and verifiers are made of in practice).
fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Whether `s` looks like a credential for the leak checks: at least 12
/// token characters with a letter and a digit. Shorter or plainer strings
/// occur in the error templates themselves ("milliseconds", "RFC 6749").
pub fn secret_like(s: &str) -> bool {
    s.len() >= 12
        && s.bytes().all(token_char)
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Every maximal run of token characters in `data` that is [`secret_like`].
pub fn secret_like_runs(data: &[u8]) -> Vec<&str> {
    data.split(|&b| !token_char(b))
        .filter_map(|run| std::str::from_utf8(run).ok())
        .filter(|run| secret_like(run))
        .collect()
}

/// Panics when `text` contains `secret`, naming `what` (the secret itself
/// is printed: it is fuzzer input, and the crash report needs it).
pub fn assert_absent(text: &str, secret: &str, what: &str) {
    assert!(!text.contains(secret), "{what} quotes `{secret}`: {text}");
}

/// [`assert_absent`] for `Debug` text, which escapes what it prints: an
/// occurrence right after an escaping backslash (`\t` + `abc…` when the text
/// held a tab and `abc…`) is the escape's letter, not a quote, and is skipped.
pub fn assert_absent_debug(text: &str, secret: &str, what: &str) {
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices(secret) {
        let backslashes = bytes[..at].iter().rev().take_while(|&&b| b == b'\\').count();
        assert!(backslashes % 2 == 1, "{what} quotes `{secret}`: {text}");
    }
}

/// The largest Unix time, in ms, an HTTP date can express (9999-12-31T23:59:59Z).
pub const MAX_HTTP_DATE_MS: i64 = 253_402_300_799_000;
