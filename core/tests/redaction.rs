//! No token or secret in any Debug, Display or error text.

mod support;

use serde_json::json;
use support::*;
use tokenkeep::{TokenKeeper, TokenKeeperOptions};

fn assert_clean(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "a secret leaked into: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_keepers_requests_and_errors_never_show_a_secret() {
    let fixture = Fixture::start();
    let (keeper, clock, listener) = signed_in_keeper(&fixture).await;
    let tokens = keeper.tokens().expect("tokens");
    let mut secrets = vec![tokens.access_token(), tokens.refresh_token().expect("rt")];

    let request = keeper.authorization_request(Default::default()).expect("request");
    secrets.push(request.code_verifier());

    let mut texts = vec![
        format!("{tokens:?}"),
        format!("{tokens:#?}"),
        tokens.to_string(),
        format!("{keeper:?}"),
        keeper.to_string(),
        format!("{request:?}"),
        request.to_string(),
    ];

    // Errors from every kind of failure.
    clock.advance_secs(3_600);
    fixture.fault(json!({"malformed": true})).await;
    texts.push(format!("{:?}", keeper.access_token().await.expect_err("malformed")));
    fixture.fault(json!({"count": 4, "status": 502})).await;
    let e = keeper.access_token().await.expect_err("502");
    texts.push(format!("{e:?} {e}"));
    // A server that echoes the refresh token in its error description.
    let echo = format!("refresh token {} is not acceptable", secrets[1]);
    fixture
        .fault(
            json!({"status": 400, "body": json!({"error": "invalid_request", "error_description": echo}).to_string()}),
        )
        .await;
    let e = keeper.access_token().await.expect_err("echo");
    texts.push(format!("{e:?} {e}"));
    assert!(e.to_string().contains("[redacted]"), "{e}");
    // A raw token response that is not JSON, containing a token.
    let e = keeper
        .set_token_response(format!("{{\"access_token\": \"{}", secrets[0]))
        .expect_err("bad json");
    texts.push(format!("{e:?} {e}"));
    for text in &texts {
        assert_clean(text, &secrets);
    }
    assert!(tokenkeep::flush_listener_events(5_000), "every event delivered");
    let failures = listener.failed.lock();
    assert!(failures.len() >= 2, "the 502 and the echo were reported: {failures:?}");
    for failure in failures.iter() {
        assert_clean(&format!("{failure:?} {failure}"), &secrets);
    }
    let changes = listener.changed.lock();
    assert!(!changes.is_empty(), "the sign-in was reported");
    for event in changes.iter() {
        // The event carries the token set; its Debug/Display redact it.
        assert!(event.tokens.is_some());
        assert_clean(&format!("{event:?} {event}"), &secrets);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_never_appears_in_errors() {
    let fixture = Fixture::start();
    let config = TokenKeeperOptions {
        client_credentials: true,
        ..config(&fixture, "m2m-client")
    };
    let secret = "s3cr3t-that-must-not-leak".to_owned();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some(secret.clone()),
        ..config
    })
    .expect("builds");
    let e = keeper.access_token().await.expect_err("invalid_client");
    assert_clean(&format!("{e:?} {e} {keeper:?}"), &[secret]);
}
