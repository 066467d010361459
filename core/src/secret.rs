//! A string that must never be shown: tokens, client secrets, PKCE verifiers.
//!
//! [`Secret`] is the only type in tokenkeep that holds credential material.
//! Its `Debug` prints `Secret([redacted])`, it has no `Display`, no derived
//! equality (comparing secrets byte by byte leaks timing), and its memory is
//! zeroized when it is dropped. Reading the value takes an explicit call to
//! [`Secret::expose`], which makes every place a credential leaves the type
//! easy to find in review.

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

    /// Whether `text` contains this secret (used to scrub server messages
    /// before they become error text).
    pub(crate) fn appears_in(&self, text: &str) -> bool {
        !self.0.is_empty() && text.contains(self.0.as_str())
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

/// Replaces every occurrence of any of `secrets` in `text` with `[redacted]`.
///
/// Servers sometimes echo what they were sent in `error_description`; this
/// keeps such echoes out of error messages.
pub(crate) fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.appears_in(&out) {
            out = out.replace(secret.expose(), "[redacted]");
        }
    }
    out
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
    fn serde_round_trip_keeps_the_value() {
        let s = Secret::new("v");
        let json = serde_json::to_string(&s).expect("serialize");
        let back: Secret = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back.expose(), "v");
    }
}
