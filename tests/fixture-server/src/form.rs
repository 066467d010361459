//! Lenient parsing of `application/x-www-form-urlencoded` bodies and query strings,
//! with the RFC 6749 §3.1 rules the endpoints enforce afterwards (no repeated
//! parameters; an empty value counts as absent).

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap};

use crate::oauth_error::OAuthError;

/// The decoded name/value pairs of a form body or query string, in order.
#[derive(Debug, Clone, Default)]
pub struct FormParams {
    pairs: Vec<(String, String)>,
}

impl FormParams {
    /// Decodes `bytes` as `application/x-www-form-urlencoded`. Never fails: invalid
    /// UTF-8 is replaced, so even a garbage body can be counted and logged.
    pub fn parse(bytes: &[u8]) -> Self {
        let pairs = url::form_urlencoded::parse(bytes)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Self { pairs }
    }

    /// The value of `name`, or `None` when it is absent or empty (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The value of a required parameter, or an `invalid_request` error naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter: {name}")))
    }

    /// Rejects a request that repeats a parameter (RFC 6749 §3.1).
    pub fn reject_repeated(&self) -> Result<(), OAuthError> {
        for (i, (name, _)) in self.pairs.iter().enumerate() {
            if self.pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter included more than once: {name}"
                )));
            }
        }
        Ok(())
    }

    /// All parameters as a map (the last value wins for a repeated name).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.pairs.iter().cloned().collect()
    }
}

/// Rejects a body whose `Content-Type` is not `application/x-www-form-urlencoded`.
pub fn require_form_content_type(headers: &HeaderMap) -> Result<(), OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if is_form {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_count_as_absent_and_plus_is_space() {
        let form = FormParams::parse(b"a=&b=x+y%2Bz&c=1");
        assert_eq!(form.get("a"), None);
        assert_eq!(form.get("b"), Some("x y+z"));
        assert!(form.require("a").is_err());
        assert!(form.reject_repeated().is_ok());
        assert!(FormParams::parse(b"a=1&a=2").reject_repeated().is_err());
    }

    #[test]
    fn content_type_may_carry_a_charset() {
        let mut headers = HeaderMap::new();
        assert!(require_form_content_type(&headers).is_err());
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .expect("valid header"),
        );
        assert!(require_form_content_type(&headers).is_ok());
    }
}
