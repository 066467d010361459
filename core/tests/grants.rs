//! The grants: client_credentials, authorization code with PKCE, client
//! authentication methods, scopes and extra parameters, non-standard
//! response shapes.

mod support;

use std::collections::HashMap;

use serde_json::{json, Value};
use support::*;
use tokenkeep::{
    camel_case_response_mapping, ClientAuthMethod, SessionState, TokenKeepError, TokenKeeper, TokenKeeperOptions,
};

fn m2m_config(fixture: &Fixture) -> TokenKeeperOptions {
    TokenKeeperOptions {
        client_credentials: true,
        scopes: vec!["reports:read".into(), "reports:write".into()],
        ..config(fixture, "m2m-client")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_acquires_and_reacquires_after_expiry() {
    let fixture = Fixture::start();
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some("m2m-secret".into()),
        clock: Some(clock.clone()),
        ..m2m_config(&fixture)
    })
    .expect("builds");
    assert_eq!(keeper.state(), SessionState::Empty);
    let first = keeper.access_token().await.expect("acquired");
    assert_eq!(keeper.access_token().await.expect("cached"), first);
    clock.advance_secs(3_600);
    let second = keeper.access_token().await.expect("re-acquired");
    assert_ne!(first, second);
    let stats = fixture.stats().await;
    assert_eq!(stats["token_requests"]["client_credentials"], 2);
    assert_eq!(stats["token_requests"]["refresh_token"], 0);
    let log = fixture.token_request_log().await;
    assert_eq!(log[0]["client_auth"], "basic");
    assert_eq!(log[0]["params"]["scope"], "reports:read reports:write");
    let response = keeper
        .send(tokenkeep::HttpRequest::get(fixture.url("/api/me")))
        .await
        .expect("api");
    assert_eq!(response.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_post_and_extra_parameters_are_sent() {
    let fixture = Fixture::start();
    let config = TokenKeeperOptions {
        auth_method: Some(ClientAuthMethod::ClientSecretPost),
        extra_token_params: HashMap::from([("refresh_token_ttl".to_owned(), "600".to_owned())]),
        ..m2m_config(&fixture)
    };
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some("m2m-secret".into()),
        ..config
    })
    .expect("builds");
    keeper.access_token().await.expect("acquired");
    let log = fixture.token_request_log().await;
    assert_eq!(log[0]["client_auth"], "post");
    assert_eq!(log[0]["params"]["refresh_token_ttl"], "600");
    assert_eq!(log[0]["params"]["client_secret"], "<redacted>");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_a_configuration_error() {
    let fixture = Fixture::start();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some("wrong".into()),
        ..m2m_config(&fixture)
    })
    .expect("builds");
    let error = keeper.access_token().await.expect_err("rejected");
    assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert!(!error.to_string().contains("wrong"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_with_pkce_through_the_authorize_endpoint() {
    let fixture = Fixture::start();
    let config = TokenKeeperOptions {
        scopes: vec!["profile".into()],
        ..config(&fixture, "public-app")
    };
    let listener = std::sync::Arc::new(RecordingListener::default());
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        listener: Some(listener.clone()),
        ..config
    })
    .expect("builds");
    let request = keeper
        .authorization_request(HashMap::from([("login_hint".to_owned(), "alice".to_owned())]))
        .expect("request");
    let url = url::Url::parse(&request.url()).expect("url");
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["state"], request.state());
    assert_eq!(query["scope"], "profile");
    assert_eq!(
        query["code_challenge"],
        tokenkeep_fixture_server::pkce_s256(&request.code_verifier())
    );
    // The fixture's documented test sign-in approves at once and redirects.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let redirect = browser.get(request.url()).send().await.expect("authorize");
    assert_eq!(redirect.status(), 302);
    let callback = redirect.headers()["location"].to_str().expect("location").to_owned();

    // A forged callback with another state is refused.
    let forged = callback.replace(&request.state(), "forged");
    let error = keeper
        .complete_authorization(request.clone(), forged)
        .await
        .expect_err("state mismatch");
    assert!(matches!(error, TokenKeepError::Authorization { .. }), "{error:?}");

    let tokens = keeper
        .complete_authorization(request, callback)
        .await
        .expect("signed in");
    assert!(tokens.has_refresh_token());
    assert_eq!(keeper.state(), SessionState::Valid);
    let me = keeper
        .send(tokenkeep::HttpRequest::get(fixture.url("/api/me")))
        .await
        .expect("me");
    assert_eq!(json_body(&me)["sub"], "alice");
    eventually("a SignedIn event", || {
        listener
            .changed
            .lock()
            .iter()
            .any(|e| e.reason == tokenkeep::ChangeReason::SignedIn)
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_code_verifier_is_rejected() {
    let fixture = Fixture::start();
    let keeper = TokenKeeper::new(config(&fixture, "public-app")).expect("builds");
    let request = keeper.authorization_request(HashMap::new()).expect("request");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let callback = browser.get(request.url()).send().await.expect("authorize").headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let code = request.code_from_callback(callback).expect("code");
    let error = keeper
        .exchange_code(code, "not-the-verifier-0000000000000000000000000".into())
        .await
        .expect_err("bad verifier");
    // Issue 12: invalid_grant from a code exchange is a failed sign-in,
    // not an expired session.
    assert!(
        matches!(&error, TokenKeepError::Authorization { oauth_error: Some(code), .. } if code == "invalid_grant"),
        "invalid_grant: {error:?}"
    );
    assert!(error.to_string().starts_with("sign-in failed: "), "{error}");
    assert_eq!(keeper.state(), SessionState::Empty, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_case_answers_with_absolute_expiry_are_mapped() {
    let fixture = Fixture::start();
    let clock = tokenkeep::ManualClock::new();
    let config = TokenKeeperOptions {
        response_mapping: Some(camel_case_response_mapping()),
        ..config(&fixture, "camel-app")
    };
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        clock: Some(clock.clone()),
        ..config
    })
    .expect("builds");
    let raw: Value = fixture.sign_in_tokens("camel-app").await;
    assert!(
        raw.get("accessToken").is_some(),
        "the fixture answered in camelCase: {raw}"
    );
    let tokens = keeper.set_token_response(raw.to_string()).expect("mapped");
    let lifetime = tokens.expires_at_unix_ms().expect("expiry") - tokens.received_at_unix_ms();
    assert!((3_590_000..=3_600_000).contains(&lifetime), "lifetime {lifetime}");
    assert!(tokens.has_refresh_token());
    clock.advance_secs(3_600);
    let refreshed = keeper.refresh().await.expect("refresh with camelCase answer");
    assert_ne!(refreshed.access_token(), tokens.access_token());
    assert!(refreshed.refresh_token_expires_at_unix_ms().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn expires_in_as_a_string_is_read() {
    let fixture = Fixture::start();
    fixture
        .client(json!({"client_id": "string-app", "response_style": "string-expires-in", "access_ttl": 120}))
        .await;
    let keeper = TokenKeeper::new(config(&fixture, "string-app")).expect("builds");
    let tokens = keeper
        .set_token_response(fixture.sign_in_tokens("string-app").await.to_string())
        .expect("set");
    assert_eq!(
        tokens.expires_at_unix_ms().expect("expiry") - tokens.received_at_unix_ms(),
        120_000
    );
}
