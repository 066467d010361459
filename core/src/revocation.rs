//! What a logout achieved at the server: [`LogoutOutcome`].
//!
//! A logout always forgets the tokens locally (memory and store). With a
//! revocation endpoint configured, it then revokes them there (RFC 7009):
//! the refresh token first, so the server cannot mint new access tokens,
//! then the access token. Both are needed: RFC 7009 §2.1 lets a server keep
//! the access tokens of a revoked refresh token alive until they expire,
//! and some servers do. Each token's [`TokenRevocation`] says what the server
//! confirmed; [`LogoutOutcome::fully_revoked`] says whether nothing the
//! session held is still usable at the server.

/// What happened to one token at logout.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TokenRevocation {
    /// The server confirmed the revocation (RFC 7009 §2.2: HTTP 200).
    Revoked,
    /// The server cannot revoke this kind of token (RFC 7009 §2.2.1
    /// `unsupported_token_type`): it stays valid until it expires.
    Unsupported,
    /// Not sent: no revocation endpoint is configured, or the session held
    /// no such token.
    NotSent,
    /// The request failed (network, server error, an unexpected answer):
    /// the token may stay valid until it expires.
    Failed {
        /// What went wrong, without secrets.
        reason: String,
    },
}

/// What a logout achieved at the server. The local logout always happened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct LogoutOutcome {
    /// The refresh token's revocation (sent first).
    pub refresh_token: TokenRevocation,
    /// The access token's revocation.
    pub access_token: TokenRevocation,
    /// Whether the server confirmed the revocation of every token the
    /// session held (false without a revocation endpoint, or when there
    /// were no tokens).
    pub fully_revoked: bool,
}

impl LogoutOutcome {
    /// The outcome of revoking `refresh_token` (if the session held one) and
    /// `access_token` (if it held one).
    pub(crate) fn new(refresh_token: Option<TokenRevocation>, access_token: Option<TokenRevocation>) -> Self {
        let held = [&refresh_token, &access_token];
        let fully_revoked = held.iter().any(|t| t.is_some())
            && held
                .iter()
                .all(|t| t.as_ref().is_none_or(|r| *r == TokenRevocation::Revoked));
        LogoutOutcome {
            refresh_token: refresh_token.unwrap_or(TokenRevocation::NotSent),
            access_token: access_token.unwrap_or(TokenRevocation::NotSent),
            fully_revoked,
        }
    }

    /// A logout without tokens, or without a revocation endpoint.
    pub(crate) fn nothing_sent() -> Self {
        LogoutOutcome {
            refresh_token: TokenRevocation::NotSent,
            access_token: TokenRevocation::NotSent,
            fully_revoked: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenRevocation::*;

    #[test]
    fn fully_revoked_only_when_every_held_token_is() {
        assert!(LogoutOutcome::new(Some(Revoked), Some(Revoked)).fully_revoked);
        assert!(
            LogoutOutcome::new(None, Some(Revoked)).fully_revoked,
            "no refresh token held"
        );
        assert!(!LogoutOutcome::new(Some(Revoked), Some(Unsupported)).fully_revoked);
        let failed = Failed { reason: "x".into() };
        assert!(!LogoutOutcome::new(Some(failed), Some(Revoked)).fully_revoked);
        assert!(!LogoutOutcome::new(None, None).fully_revoked);
        assert!(!LogoutOutcome::nothing_sent().fully_revoked);
        assert_eq!(LogoutOutcome::new(None, Some(Revoked)).refresh_token, NotSent);
    }
}

display_as_debug!(LogoutOutcome);
