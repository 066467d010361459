//! Signing in: the authorization code grant with PKCE and the device
//! authorization grant. Both end the same way: the new tokens are stored
//! under the store lock and the session becomes `Valid`, whatever state it
//! was in (`Empty`, `SessionExpired`, `LoggedOut`).

use std::sync::Arc;

use super::single_flight::RefreshOutcome;
use super::Session;
use crate::device::DeviceAuthorization;
use crate::error::Error;
use crate::listener::ChangeReason;
use crate::pkce::AuthorizationRequest;
use crate::secret::Secret;
use crate::token_set::TokenSet;

impl Session {
    /// A new sign-in attempt (authorization code + PKCE).
    pub(crate) fn authorization_request(&self, extra: &[(String, String)]) -> Result<Arc<AuthorizationRequest>, Error> {
        AuthorizationRequest::build(&self.config, extra)
    }

    /// Exchanges a sign-in code and stores the tokens.
    pub(crate) async fn exchange_code(self: Arc<Self>, code: Secret, code_verifier: Secret) -> RefreshOutcome {
        let redirect_uri = self
            .config
            .redirect_uri
            .clone()
            .ok_or_else(|| Error::configuration("exchanging a code needs `redirect_uri` in the client config"))?;
        let tokens = self
            .endpoint
            .exchange_code(&code, &code_verifier, &redirect_uri)
            .await
            .map_err(Error::in_sign_in)?;
        self.signed_in(tokens)
    }

    /// Starts a device sign-in (RFC 8628).
    pub(crate) async fn start_device_authorization(self: Arc<Self>) -> Result<Arc<DeviceAuthorization>, Error> {
        self.endpoint.start_device_authorization().await
    }

    /// Polls until the user approved the device sign-in (or denied it, or it
    /// expired, or it was cancelled), then stores the tokens.
    pub(crate) async fn complete_device_authorization(
        self: Arc<Self>,
        device: Arc<DeviceAuthorization>,
    ) -> RefreshOutcome {
        loop {
            // Never sleep past the code's expiry (a server may announce
            // an absurd interval): the expiry check below then ends it.
            tokio::time::sleep(device.poll_interval().min(device.time_left())).await;
            if device.is_cancelled() {
                return Err(Error::authorization("the device sign-in was cancelled"));
            }
            if device.expired() {
                return Err(device_expired());
            }
            match self.endpoint.device_token(device.device_code()).await {
                Ok(tokens) => return self.signed_in(tokens),
                Err(Error::OAuth { code, .. }) if code == "authorization_pending" => {}
                Err(Error::OAuth { code, .. }) if code == "slow_down" => device.slow_down(),
                Err(Error::OAuth { code, .. }) if code == "access_denied" => {
                    return Err(Error::Authorization {
                        detail: "the user denied the device sign-in".into(),
                        code: Some(code),
                    })
                }
                Err(Error::OAuth { code, .. }) if code == "expired_token" => return Err(device_expired()),
                Err(error) if error.is_transient() => {
                    tracing::debug!(%error, "device sign-in poll failed; polling on");
                }
                Err(error) => return Err(error.in_sign_in()),
            }
        }
    }

    fn signed_in(&self, tokens: TokenSet) -> RefreshOutcome {
        self.set_tokens(tokens, ChangeReason::SignedIn)
    }
}

fn device_expired() -> Error {
    Error::Authorization {
        detail: "the device code expired before the user approved it (RFC 8628 expired_token); start the device sign-in again".into(),
        code: Some("expired_token".into()),
    }
}
