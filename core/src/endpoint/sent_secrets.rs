//! What one request to an OAuth endpoint carried that its answer must not
//! be allowed to show.
//!
//! A server may echo any part of a request in its error text. Every answer
//! that becomes an error is scrubbed ([`crate::secret::scrub`]: raw and
//! form-urlencoded forms, whole or as a prefix of at least
//! [`MIN_ECHO_PREFIX`](crate::MIN_ECHO_PREFIX) bytes) of:
//!
//! * the grant's own secrets: the refresh token (with the current access
//!   token, which a server may know and quote), the authorization code and
//!   PKCE code verifier, the device code, the token being revoked;
//! * the client secret, whatever the authentication method;
//! * with HTTP Basic client authentication, the whole `Authorization` value
//!   (`Basic …`) and its base64 credentials, which hold the form-urlencoded
//!   secret.
//!
//! The list is built once per request and used for every error of it:
//! transient ones retried inside [`super::form_post`] and the final one.

use super::form_post::basic_credentials;
use crate::config::{ClientAuthMethod, ValidatedConfig};
use crate::secret::Secret;

/// The secrets of one request, in every form it sent them.
pub(crate) struct SentSecrets(Vec<Secret>);

impl SentSecrets {
    /// The secrets of a request carrying `grant_secrets`, authenticated as
    /// `config` says with `client_secret`.
    pub(crate) fn of(grant_secrets: &[&Secret], client_secret: Option<&Secret>, config: &ValidatedConfig) -> Self {
        let mut all: Vec<Secret> = grant_secrets.iter().map(|s| (*s).clone()).collect();
        if let Some(secret) = client_secret {
            all.push(secret.clone());
            if config.auth_method == ClientAuthMethod::ClientSecretBasic {
                let header = basic_credentials(&config.client_id, secret);
                if let Some(credentials) = header.strip_prefix("Basic ") {
                    all.push(Secret::new(credentials));
                }
                all.push(Secret::new(header));
            }
        }
        SentSecrets(all)
    }

    /// The list [`crate::secret::scrub`] takes.
    pub(crate) fn as_refs(&self) -> Vec<&Secret> {
        self.0.iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TokenKeeperOptions;
    use crate::secret::scrub;

    fn config(method: ClientAuthMethod) -> ValidatedConfig {
        let config = TokenKeeperOptions {
            auth_method: Some(method),
            client_secret: Some("s".into()),
            ..TokenKeeperOptions::new("https://auth.example.com/token", "my app")
        };
        ValidatedConfig::check(&config).expect("valid")
    }

    #[test]
    fn basic_clients_scrub_the_secret_the_header_and_its_base64() {
        let secret = Secret::new("s3cret/value+with=chars");
        let device_code = Secret::new("device-code-0123456789");
        let sent = SentSecrets::of(
            &[&device_code],
            Some(&secret),
            &config(ClientAuthMethod::ClientSecretBasic),
        );
        let header = basic_credentials("my app", &secret);
        let base64 = header.strip_prefix("Basic ").expect("prefix").to_owned();
        for echo in [
            header.clone(),
            base64.clone(),
            base64[..12].to_owned(),
            "s3cret/value+with=chars".to_owned(),
            "s3cret%2Fvalue%2Bwith%3Dchars".to_owned(),
            "device-code-0123456789".to_owned(),
        ] {
            let scrubbed = scrub(&format!("echo: {echo}"), &sent.as_refs());
            assert_eq!(scrubbed, "echo: [redacted]", "{echo}");
        }
    }

    #[test]
    fn post_clients_scrub_the_secret() {
        let secret = Secret::new("s3cret/value+with=chars");
        let sent = SentSecrets::of(&[], Some(&secret), &config(ClientAuthMethod::ClientSecretPost));
        assert_eq!(sent.as_refs().len(), 1);
        assert_eq!(scrub("s3cret%2Fvalue", &sent.as_refs()), "[redacted]");
    }
}
