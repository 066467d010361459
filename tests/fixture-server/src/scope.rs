//! RFC 6749 §3.3 scope strings: validation, normalisation and the subset check used
//! when a refresh request narrows the scope.

use crate::oauth_error::OAuthError;

/// Validates a space-delimited scope and normalises it (single spaces, no duplicates,
/// first-seen order).
pub(crate) fn normalize(scope: &str) -> Result<String, OAuthError> {
    let mut tokens: Vec<&str> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        let valid = token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if !valid {
            return Err(OAuthError::invalid_scope(format!("invalid scope token {token:?}")));
        }
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    Ok(tokens.join(" "))
}

/// Whether every token of `requested` is in `granted`.
pub(crate) fn is_subset(requested: &str, granted: &str) -> bool {
    let granted: Vec<&str> = granted.split(' ').collect();
    requested
        .split(' ')
        .filter(|t| !t.is_empty())
        .all(|t| granted.contains(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_validates() {
        assert_eq!(normalize("  read  write read ").ok().as_deref(), Some("read write"));
        assert_eq!(normalize("").ok().as_deref(), Some(""));
        assert!(normalize("bad\"quote").is_err());
        assert!(normalize("tab\tinside").is_err());
    }

    #[test]
    fn subset() {
        assert!(is_subset("read", "read write"));
        assert!(is_subset("", "read"));
        assert!(!is_subset("admin", "read write"));
        assert!(!is_subset("read", ""));
    }
}
