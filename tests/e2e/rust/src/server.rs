//! The e2e authorization server as the scenarios see it: endpoints from
//! `scenarios.json`, the browserless sign-in and device approval, grant
//! counts, and introspection.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokenkeep::{TokenKeeper, TokenKeeperOptions};

/// The server under test and its settings from `scenarios.json`.
pub struct E2eServer {
    issuer: String,
    settings: Value,
    http: reqwest::Client,
}

impl E2eServer {
    pub fn new(issuer: String, settings: Value) -> Self {
        E2eServer {
            issuer,
            settings,
            http: reqwest::Client::new(),
        }
    }

    pub fn setting(&self, name: &str) -> &Value {
        &self.settings[name]
    }

    fn text(&self, name: &str) -> String {
        self.settings[name].as_str().unwrap_or_default().to_owned()
    }

    pub fn url(&self, endpoint: &str) -> String {
        format!(
            "{}{}",
            self.issuer,
            self.settings["endpoints"][endpoint].as_str().unwrap_or_default()
        )
    }

    /// Seconds to sleep so that an access token has surely expired.
    pub fn past_expiry(&self) -> std::time::Duration {
        let ttl = self.settings["access_token_ttl_secs"].as_u64().unwrap_or(3);
        std::time::Duration::from_millis(ttl * 1000 + 300)
    }

    /// A session of the public client, with sign-in and device endpoints.
    pub fn user_keeper(&self) -> Result<Arc<TokenKeeper>, String> {
        let scopes = self.settings["scopes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let config = TokenKeeperOptions {
            authorization_endpoint: Some(self.url("authorization")),
            revocation_endpoint: Some(self.url("revocation")),
            device_authorization_endpoint: Some(self.url("device_authorization")),
            redirect_uri: Some(self.text("redirect_uri")),
            scopes,
            ..TokenKeeperOptions::new(self.url("token"), self.text("public_client"))
        };
        TokenKeeper::new(config).map_err(|e| e.to_string())
    }

    /// A client_credentials session of the machine client.
    pub fn m2m_keeper(&self) -> Result<Arc<TokenKeeper>, String> {
        let config = TokenKeeperOptions {
            client_credentials: true,
            ..TokenKeeperOptions::new(self.url("token"), self.text("m2m_client"))
        };
        TokenKeeper::new(TokenKeeperOptions {
            client_secret: Some(self.text("m2m_secret")),
            ..config
        })
        .map_err(|e| e.to_string())
    }

    /// Signs `keeper` in: authorization URL → the server's test sign-in → callback.
    pub async fn sign_in(&self, keeper: &TokenKeeper) -> Result<(), String> {
        let request = keeper
            .authorization_request(HashMap::new())
            .map_err(|e| e.to_string())?;
        let answer: Value = self
            .http
            .get(self.url("test_sign_in"))
            .query(&[("url", request.url())])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let callback = answer["callback_url"]
            .as_str()
            .ok_or(format!("test sign-in failed: {answer}"))?;
        keeper
            .complete_authorization(request, callback.to_owned())
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Approves a device sign-in as the test user.
    pub async fn approve_device(&self, user_code: &str) -> Result<(), String> {
        let status = self
            .http
            .post(self.url("test_approve_device"))
            .form(&[("user_code", user_code)])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("device approval answered {status}"))
        }
    }

    /// How many grants of `grant_type` the token endpoint has served.
    pub async fn grants(&self, grant_type: &str) -> Result<u64, String> {
        let stats: Value = self
            .http
            .get(self.url("test_stats"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        stats["token_requests"][grant_type]
            .as_u64()
            .ok_or(format!("no {grant_type} count in {stats}"))
    }

    /// Whether the server considers `token` active (RFC 7662).
    pub async fn is_active(&self, token: &str) -> Result<bool, String> {
        let answer: Value = self
            .http
            .post(self.url("introspection"))
            .basic_auth(
                self.text("introspection_client"),
                Some(self.text("introspection_secret")),
            )
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        answer["active"]
            .as_bool()
            .ok_or(format!("introspection answered {answer}"))
    }
}
