//! Helpers shared by the integration tests: start a server with `spawn` and talk to
//! it with reqwest (redirects not followed).

#![allow(dead_code, missing_docs)]

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tokenkeep_fixture_server::{pkce_s256, spawn, RunningServer, ServerConfig};

pub const REDIRECT_URI: &str = "http://127.0.0.1:1/callback";
pub const VERIFIER: &str = "test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn str(&self, field: &str) -> String {
        self.json()[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field:?} in {}", self.text))
            .to_owned()
    }
}

pub struct Fixture {
    pub server: RunningServer,
    pub http: reqwest::Client,
}

pub fn start() -> Fixture {
    start_with(ServerConfig::default())
}

pub fn start_with(config: ServerConfig) -> Fixture {
    let server = spawn(config).expect("fixture server starts");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    Fixture { server, http }
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Reply { status, headers, text }
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// POST /token with a form body and no Authorization header.
    pub async fn token(&self, form: &[(&str, &str)]) -> Reply {
        self.try_token(form).await.expect("token request")
    }

    pub async fn try_token(&self, form: &[(&str, &str)]) -> reqwest::Result<Reply> {
        let response = self.http.post(self.url("/token")).form(form).send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await?;
        Ok(Reply { status, headers, text })
    }

    /// POST /token with client_secret_basic.
    pub async fn token_basic(&self, id: &str, secret: &str, form: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .post(self.url("/token"))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .expect("token request");
        read(response).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let response = self.http.post(self.url(path)).form(form).send().await.expect("request");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let response = self.http.get(self.url(path)).send().await.expect("request");
        read(response).await
    }

    pub async fn admin(&self, path: &str, body: Value) -> Reply {
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    pub async fn stats(&self) -> Value {
        self.get("/stats").await.json()
    }

    /// GET /api/me with a bearer token.
    pub async fn me(&self, access_token: &str) -> Reply {
        let response = self
            .http
            .get(self.url("/api/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// GET /authorize; returns the raw reply (expected: 302).
    pub async fn authorize_raw(&self, params: &[(&str, &str)]) -> Reply {
        let response = self
            .http
            .get(self.url("/authorize"))
            .query(params)
            .send()
            .await
            .expect("request");
        read(response).await
    }

    /// Runs the test sign-in for `client_id` and returns the code.
    pub async fn authorize(&self, client_id: &str, scope: &str) -> String {
        let challenge = pkce_s256(VERIFIER);
        let reply = self
            .authorize_raw(&[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", REDIRECT_URI),
                ("state", "xyz"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("scope", scope),
            ])
            .await;
        assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
        let location = reply.header("location").expect("Location header");
        let url = url::Url::parse(location).expect("absolute Location");
        url.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code in Location")
    }

    /// Authorization code + PKCE for a public client: returns the token response.
    pub async fn sign_in(&self, client_id: &str, scope: &str) -> Reply {
        let code = self.authorize(client_id, scope).await;
        let reply = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ])
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
    }

    pub async fn refresh(&self, client_id: &str, refresh_token: &str) -> Reply {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ])
        .await
    }
}
