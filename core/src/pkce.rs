//! Sign-in with the authorization code grant and PKCE (RFC 6749 §4.1,
//! RFC 7636).
//!
//! [`AuthorizationRequest`] is one sign-in attempt: a fresh code verifier
//! (32 random bytes, base64url: 43 characters, RFC 7636 §4.1), its S256
//! challenge (§4.2), a random `state` (RFC 6749 §10.12, against CSRF) and the
//! URL to open in a browser. When the browser comes back to the redirect URI,
//! [`AuthorizationRequest::code_from_callback`] checks `state`, reads an
//! `error` if the server sent one (§4.1.2.1), and returns the code that
//! `TokenKeeper::complete_authorization` exchanges for tokens.
//!
//! An app that may be killed while the user is in the browser keeps
//! `state()` and `code_verifier()` and later calls
//! `TokenKeeper::exchange_code` with them.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::ValidatedConfig;
use crate::error::Error;
use crate::secret::Secret;

/// One sign-in attempt: the URL to open and what is needed to finish it.
#[derive(uniffi::Object)]
#[uniffi::export(Debug, Display)]
pub struct AuthorizationRequest {
    url: String,
    state: String,
    redirect_uri: String,
    code_verifier: Secret,
}

fn random_base64url(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// The S256 code challenge for `verifier` (RFC 7636 §4.2).
pub(crate) fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl AuthorizationRequest {
    /// Builds a sign-in attempt for `config` with `extra` query parameters
    /// (for example `prompt`, `login_hint`).
    pub(crate) fn build(config: &ValidatedConfig, extra: &[(String, String)]) -> Result<Arc<Self>, Error> {
        let endpoint = config
            .authorization_endpoint
            .clone()
            .ok_or_else(|| Error::configuration("sign-in needs `authorization_endpoint` in the client config"))?;
        let redirect_uri = config
            .redirect_uri
            .clone()
            .ok_or_else(|| Error::configuration("sign-in needs `redirect_uri` in the client config"))?;
        let code_verifier = Secret::new(random_base64url(32));
        let state = random_base64url(16);
        let mut url: Url = endpoint;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &s256_challenge(code_verifier.expose()))
                .append_pair("code_challenge_method", "S256");
            if !config.scopes.is_empty() {
                query.append_pair("scope", &config.scopes.join(" "));
            }
            for (name, value) in extra {
                query.append_pair(name, value);
            }
        }
        Ok(Arc::new(AuthorizationRequest {
            url: url.into(),
            state,
            redirect_uri,
            code_verifier,
        }))
    }

    pub(crate) fn verifier(&self) -> &Secret {
        &self.code_verifier
    }
}

#[uniffi::export]
impl AuthorizationRequest {
    /// The URL to open in the browser.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The `state` value the callback must carry back.
    pub fn state(&self) -> String {
        self.state.clone()
    }

    /// The redirect URI the code will be sent to.
    pub fn redirect_uri(&self) -> String {
        self.redirect_uri.clone()
    }

    /// The PKCE code verifier. Sensitive: keep it only to finish this sign-in.
    pub fn code_verifier(&self) -> String {
        self.code_verifier.expose().to_owned()
    }

    /// Reads the code from the URL the browser was redirected to, after
    /// checking `state` and any `error` the server sent.
    pub fn code_from_callback(&self, callback_url: String) -> Result<String, crate::TokenKeepError> {
        code_from_callback(&callback_url, &self.state)
            .map(|s| s.expose().to_owned())
            .map_err(Into::into)
    }
}

/// Reads the code from a redirect URI callback (RFC 6749 §4.1.2).
pub(crate) fn code_from_callback(callback_url: &str, expected_state: &str) -> Result<Secret, Error> {
    let url =
        Url::parse(callback_url).map_err(|e| Error::authorization(format!("the callback is not a valid URL: {e}")))?;
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut error_description = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "code" => code = Some(Secret::new(value.into_owned())),
            "state" => state = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => error_description = Some(value.into_owned()),
            _ => {}
        }
    }
    if let Some(error) = error {
        let description = error_description.map(|d| format!(" ({d})")).unwrap_or_default();
        return Err(Error::Authorization {
            detail: format!("the authorization server answered `{error}`{description}"),
            code: Some(error),
        });
    }
    if state.as_deref() != Some(expected_state) {
        return Err(Error::authorization(
            "the callback's `state` does not match this sign-in attempt (a stale or forged callback); start the sign-in again",
        ));
    }
    code.ok_or_else(|| Error::authorization("the callback carries no `code`"))
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &"[redacted]")
            .finish()
    }
}

impl fmt::Display for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorizationRequest({})", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_has_the_rfc_length_and_alphabet() {
        let v = random_base64url(32);
        assert_eq!(v.len(), 43);
        assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn callback_checks_state_and_errors() {
        let ok = code_from_callback("app://cb?code=abc&state=s1", "s1").expect("code");
        assert_eq!(ok.expose(), "abc");
        assert!(matches!(
            code_from_callback("app://cb?code=abc&state=s2", "s1"),
            Err(Error::Authorization { .. })
        ));
        let denied = code_from_callback("app://cb?error=access_denied&state=s1", "s1").expect_err("denied");
        assert!(denied.to_string().contains("access_denied"));
    }
}
