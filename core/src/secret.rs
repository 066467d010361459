//! A string that must never be shown: tokens, client secrets, PKCE verifiers.
//!
//! [`Secret`] is the only type in tokenkeep that holds credential material.
//! Its `Debug` prints `Secret([redacted])`, it has no `Display`, no derived
//! equality (comparing secrets byte by byte leaks timing), and its memory is
//! zeroized when it is dropped. Reading the value takes an explicit call to
//! [`Secret::expose`], which makes every place a credential leaves the type
//! easy to find in review.
//!
//! # Scrubbing echoes
//!
//! Servers sometimes echo what they were sent in their error text. Before
//! server text becomes part of an error (and so of a log line or a listener
//! event), [`scrub`] replaces with `[redacted]` every place where one of the
//! secrets of the request appears
//!
//! * raw, or form-urlencoded (`application/x-www-form-urlencoded`, the way
//!   it travelled in the body or in the Basic credentials), and
//! * whole, or as a prefix of at least [`MIN_ECHO_PREFIX`] bytes (a server
//!   that shortens what it quotes keeps the start).
//!
//! At each place the longest match over all secrets and forms is redacted,
//! so an echo of the encoded form is not left half-shown by a match of the
//! raw form's first characters. Which secrets a request carried (and the
//! Basic credentials in their base64 form) is the endpoint's business, see
//! `endpoint/sent_secrets.rs`. A secret echoed from its middle, or
//! transformed otherwise (hashed, re-encoded), is not recognised.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A credential (access token, refresh token, client secret, …) that is
/// redacted in `Debug` and zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself. Sensitive: never log or format the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether two secrets are equal, in time that depends only on their
    /// lengths (for comparing a token a caller hands back).
    pub fn constant_time_eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// The shortest prefix of a secret that [`scrub`] treats as an echo of it,
/// in bytes (characters, for the ASCII secrets OAuth uses). Shorter
/// secrets are scrubbed only whole.
pub const MIN_ECHO_PREFIX: usize = 8;

/// What replaces an echoed secret.
const REDACTED: &str = "[redacted]";

/// Replaces every echo of any of `secrets` in `text` with `[redacted]`: the
/// raw or form-urlencoded secret, whole or as a prefix of at least
/// [`MIN_ECHO_PREFIX`] bytes (see the module doc).
pub(crate) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let forms: Vec<String> = secrets
        .iter()
        .flat_map(|s| {
            let raw = s.expose();
            let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            [raw.to_owned(), encoded]
        })
        .filter(|form| !form.is_empty())
        .collect();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut at, mut copied_to) = (0, 0);
    while at < bytes.len() {
        let longest = forms
            .iter()
            .map(|form| echo_len(&bytes[at..], form.as_bytes()))
            .max()
            .unwrap_or(0);
        if longest == 0 {
            at += 1;
            continue;
        }
        // A match starts on a character boundary (a secret starts with a
        // whole character); end it on one too, redacting a little more.
        let mut end = at + longest;
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push_str(&text[copied_to..at]);
        out.push_str(REDACTED);
        at = end;
        copied_to = end;
    }
    out.push_str(&text[copied_to..]);
    out
}

/// How many bytes at the start of `text` echo `form`: all of it, or a prefix
/// of at least [`MIN_ECHO_PREFIX`] bytes; 0 otherwise.
fn echo_len(text: &[u8], form: &[u8]) -> usize {
    let common = text.iter().zip(form).take_while(|(a, b)| a == b).count();
    if common == form.len() || common >= MIN_ECHO_PREFIX {
        common
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn constant_time_eq_compares_values() {
        assert!(Secret::new("abc").constant_time_eq(&Secret::new("abc")));
        assert!(!Secret::new("abc").constant_time_eq(&Secret::new("abd")));
        assert!(!Secret::new("abc").constant_time_eq(&Secret::new("abcd")));
    }

    #[test]
    fn scrub_replaces_every_secret() {
        let a = Secret::new("rt_abc");
        let b = Secret::new("cs_xyz");
        let text = "bad token rt_abc for client cs_xyz (rt_abc)";
        assert_eq!(
            scrub(text, &[&a, &b]),
            "bad token [redacted] for client [redacted] ([redacted])"
        );
    }

    #[test]
    fn scrub_takes_encoded_forms_and_long_prefixes() {
        let cs = Secret::new("cs/with+chars=and space-0123456789");
        for echo in [
            "cs/with+chars=and space-0123456789",
            "cs%2Fwith%2Bchars%3Dand+space-0123456789",
            "cs/with+",
            "cs%2Fwith%2B",
            "cs/with+chars=and space-0123456789-and-more",
        ] {
            let text = format!("bad secret <{echo}>");
            let scrubbed = scrub(&text, &[&cs]);
            assert!(scrubbed.starts_with("bad secret <[redacted]"), "{echo}: {scrubbed}");
            assert!(!scrubbed.contains("with"), "{echo}: {scrubbed}");
        }
        // Seven bytes are not an echo; a short secret is scrubbed only whole.
        assert_eq!(scrub("cs/with", &[&cs]), "cs/with");
        assert_eq!(scrub("short shor", &[&Secret::new("short")]), "[redacted] shor");
    }

    #[test]
    fn scrub_redacts_the_longest_echo_and_keeps_other_text() {
        // The raw form's first 8 bytes match the start of the encoded echo;
        // the whole encoded form must go, not only those 8 bytes.
        let rt = Secret::new("abcdefgh/ijklmnop");
        assert_eq!(scrub("x abcdefgh%2Fijklmnop y", &[&rt]), "x [redacted] y");
        assert_eq!(scrub("é abcdefghé", &[&rt]), "é [redacted]é");
        assert_eq!(scrub("no echo here", &[&rt, &Secret::new("")]), "no echo here");
    }

    #[test]
    fn serde_round_trip_keeps_the_value() {
        let s = Secret::new("v");
        let json = serde_json::to_string(&s).expect("serialize");
        let back: Secret = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back.expose(), "v");
    }
}
