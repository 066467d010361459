//! Logging out: forget locally first, then revoke at the server.
//!
//! Under the store lock (so it waits behind at most one refresh request),
//! the tokens leave memory and the store and the phase becomes `LoggedOut`;
//! only then are they revoked (RFC 7009), the refresh token first: a
//! revocation that fails never undoes the local logout, and what the server
//! confirmed for each token is the [`LogoutOutcome`].

use std::sync::Arc;

use super::{store_sync, Session};
use crate::error::Error;
use crate::listener::ChangeReason;
use crate::revocation::{LogoutOutcome, TokenRevocation};
use crate::state::{transition, Event};

impl Session {
    /// Forgets the tokens (store included) and revokes them at the server
    /// when a revocation endpoint is configured: the refresh token first,
    /// then the access token (see [`crate::revocation`]). A failed
    /// revocation does not undo the local logout. Waits for the store lock
    /// behind at most one refresh request (a refresh never holds it across
    /// a backoff wait).
    pub(crate) async fn logout(self: Arc<Self>) -> Result<LogoutOutcome, Error> {
        let (old, deleted) = {
            let _lock = self.lock_store()?;
            let _writer = self.writer.lock();
            let old = {
                let mut current = self.current.write();
                current.phase = transition(current.phase, Event::LoggedOut).unwrap_or(current.phase);
                current.generation += 1;
                current.unsaved = None;
                current.tokens.take()
            };
            let deleted = self.store.delete(self.account.clone());
            (old, deleted)
        };
        self.tokens_replaced();
        self.listeners
            .tokens_changed(store_sync::changed(ChangeReason::LoggedOut, None, deleted.is_ok()));
        let outcome = match old.as_deref() {
            Some(tokens) => {
                let refresh_token = match tokens.refresh_token_secret() {
                    Some(rt) => Some(self.endpoint.revoke(rt, "refresh_token").await),
                    None => None,
                };
                let access_token = self.endpoint.revoke(tokens.access_token_secret(), "access_token").await;
                LogoutOutcome::new(refresh_token, Some(access_token))
            }
            None => LogoutOutcome::nothing_sent(),
        };
        for (which, revocation) in [("refresh", &outcome.refresh_token), ("access", &outcome.access_token)] {
            match revocation {
                TokenRevocation::Failed { reason } => {
                    tracing::warn!(account = %self.account, token = which, %reason, "revocation failed; logged out locally")
                }
                TokenRevocation::Unsupported => {
                    tracing::info!(account = %self.account, token = which, "the server cannot revoke this token; it stays valid until it expires")
                }
                _ => {}
            }
        }
        deleted.map_err(|e| {
            Error::from_store(
                e,
                format!(
                    "logged out, but the tokens of account `{}` could not be deleted from the store",
                    self.account
                ),
            )
        })?;
        Ok(outcome)
    }
}
