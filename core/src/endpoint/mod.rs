//! The token endpoint client: the grants tokenkeep sends and how.
//!
//! * refresh_token grant (RFC 6749 §6): the refresh token, plus the
//!   configured extra parameters. An answer without a new refresh token keeps
//!   the old one.
//! * client_credentials grant (RFC 6749 §4.4): configured scopes.
//! * authorization_code grant with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5):
//!   the code, the redirect URI and the code verifier.
//! * device authorization (RFC 8628 §3.1) and the device_code grant (§3.4).
//! * token revocation (RFC 7009 §2.1).
//!
//! Requests are `application/x-www-form-urlencoded` POSTs (RFC 6749 §3.2)
//! authenticated per the configured [`ClientAuthMethod`](crate::ClientAuthMethod)
//! and retried on transient failures (see [`form_post`]). Error answers are
//! scrubbed of every secret the request carried, in every form it carried
//! them (see [`sent_secrets`]). Redirects from the
//! token endpoint are not followed: a token request is never replayed to
//! another URL. The HTTP client is the process's shared one
//! ([`crate::http_client`]), rebuilt in a forked child.
//!
//! A caveat worth knowing: when a refresh request times out after the server
//! processed it, the server has already rotated the refresh token, and the
//! retry presents the old one. Servers with reuse detection then end the
//! session unless they allow a grace period for exactly this case (most do).
//! No client can avoid this; tokenkeep retries rather than lose the session
//! on every dropped packet.

pub(crate) mod error_response;
mod form_post;
pub(crate) mod http_headers;
mod sent_secrets;

use std::sync::Arc;

use url::Url;

use crate::clock::Clock;
use crate::config::ValidatedConfig;
use crate::device::DeviceAuthorization;
use crate::error::Error;
use crate::http_client::{self, SharedClient};
use crate::policy::RefreshPolicy;
use crate::revocation::TokenRevocation;
use crate::secret::Secret;
use crate::token_response::parse_token_response;
use crate::token_set::TokenSet;

pub(crate) use form_post::Attempts;
use form_post::FormResponse;
use sent_secrets::SentSecrets;

/// The grant type of a device code token request (RFC 8628 §3.4).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Sends grants to one client's token endpoint.
pub(crate) struct TokenEndpoint {
    http: SharedClient,
    config: Arc<ValidatedConfig>,
    client_secret: Option<Secret>,
    policy: RefreshPolicy,
    clock: Clock,
}

impl TokenEndpoint {
    pub(crate) fn new(
        config: Arc<ValidatedConfig>,
        client_secret: Option<Secret>,
        policy: RefreshPolicy,
        clock: Clock,
    ) -> Result<Self, Error> {
        let http = SharedClient::new(&http_client::TOKEN_ENDPOINT, policy.connect_timeout())?;
        Ok(TokenEndpoint {
            http,
            config,
            client_secret,
            policy,
            clock,
        })
    }

    /// Uses `current`'s refresh token to get a new token set (RFC 6749 §6).
    /// The session sends it [`Attempts::Once`] and waits between attempts
    /// itself, without holding the store lock.
    pub(crate) async fn refresh(&self, current: &TokenSet, attempts: Attempts) -> Result<TokenSet, Error> {
        let refresh_token = current
            .refresh_token_secret()
            .ok_or_else(|| Error::internal("refresh called without a refresh token"))?;
        let params = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose().to_owned()),
        ];
        // The access token was not sent, but the server knows it and may quote it.
        let secrets = [refresh_token, current.access_token_secret()];
        let fresh = self.token_request(params, &secrets, attempts).await?;
        Ok(fresh.inherit_from(current))
    }

    /// Gets a token set with the client_credentials grant (RFC 6749 §4.4).
    pub(crate) async fn client_credentials(&self, attempts: Attempts) -> Result<TokenSet, Error> {
        let mut params = vec![("grant_type", "client_credentials".to_owned())];
        if !self.config.scopes.is_empty() {
            params.push(("scope", self.config.scopes.join(" ")));
        }
        self.token_request(params, &[], attempts).await
    }

    /// Exchanges an authorization code with its PKCE verifier (RFC 6749
    /// §4.1.3, RFC 7636 §4.5).
    pub(crate) async fn exchange_code(
        &self,
        code: &Secret,
        code_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<TokenSet, Error> {
        let params = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.expose().to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", code_verifier.expose().to_owned()),
        ];
        self.token_request(params, &[code, code_verifier], Attempts::WithRetries)
            .await
    }

    /// Starts a device sign-in (RFC 8628 §3.1).
    pub(crate) async fn start_device_authorization(&self) -> Result<Arc<DeviceAuthorization>, Error> {
        let url = self.config.device_authorization_endpoint.clone().ok_or_else(|| {
            Error::configuration("device sign-in needs `device_authorization_endpoint` in the client config")
        })?;
        let mut params = Vec::new();
        if !self.config.scopes.is_empty() {
            params.push(("scope", self.config.scopes.join(" ")));
        }
        let response = self.post(&url, params, &[], Attempts::WithRetries).await?;
        DeviceAuthorization::parse(&response.body)
    }

    /// One poll of the token endpoint with a device code (RFC 8628 §3.4).
    pub(crate) async fn device_token(&self, device_code: &Secret) -> Result<TokenSet, Error> {
        let params = vec![
            ("grant_type", DEVICE_CODE_GRANT.to_owned()),
            ("device_code", device_code.expose().to_owned()),
        ];
        self.token_request(params, &[device_code], Attempts::WithRetries).await
    }

    /// Revokes `token` at the revocation endpoint (RFC 7009 §2.1) and says
    /// what the server confirmed (`NotSent` without a revocation endpoint;
    /// RFC 7009 §2.2.1 `unsupported_token_type` is `Unsupported`).
    pub(crate) async fn revoke(&self, token: &Secret, hint: &str) -> TokenRevocation {
        let Some(url) = self.config.revocation_endpoint.clone() else {
            return TokenRevocation::NotSent;
        };
        let params = vec![
            ("token", token.expose().to_owned()),
            ("token_type_hint", hint.to_owned()),
        ];
        match self.post(&url, params, &[token], Attempts::WithRetries).await {
            Ok(_) => TokenRevocation::Revoked,
            Err(Error::OAuth { code, .. }) if code == "unsupported_token_type" => TokenRevocation::Unsupported,
            Err(error) => TokenRevocation::Failed {
                reason: error.to_string(),
            },
        }
    }

    async fn token_request(
        &self,
        mut params: Vec<(&str, String)>,
        sent: &[&Secret],
        attempts: Attempts,
    ) -> Result<TokenSet, Error> {
        for (name, value) in &self.config.extra_token_params {
            params.push((name.as_str(), value.clone()));
        }
        let url = self.config.token_endpoint.clone();
        let response = self.post(&url, params, sent, attempts).await?;
        let received_at = self.clock.now_ms();
        parse_token_response(
            &response.body,
            &self.config.response_mapping,
            received_at,
            response.server_date_ms,
        )
    }

    /// POSTs `params` to `url` and returns a successful answer; any other
    /// answer is an error scrubbed of the request's secrets.
    async fn post(
        &self,
        url: &Url,
        params: Vec<(&str, String)>,
        sent: &[&Secret],
        attempts: Attempts,
    ) -> Result<FormResponse, Error> {
        let secrets = SentSecrets::of(sent, self.client_secret.as_ref(), &self.config);
        let secrets = secrets.as_refs();
        let response = form_post::post_form(
            &self.http.get()?,
            url,
            &self.config,
            self.client_secret.as_ref(),
            params,
            &self.policy,
            &secrets,
            attempts,
        )
        .await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(response.into_error(&secrets))
        }
    }
}
