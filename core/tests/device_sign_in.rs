//! Sign-in on a device without a browser (RFC 8628) against the fixture
//! server: approve, deny, slow_down, expiry and cancellation.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::*;
use tokenkeep::{HttpRequest, SessionState, TokenKeepError, TokenKeeper, TokenKeeperOptions};

fn device_keeper(fixture: &Fixture) -> Arc<TokenKeeper> {
    let config = TokenKeeperOptions {
        device_authorization_endpoint: Some(fixture.url("/device_authorization")),
        scopes: vec!["tv".into()],
        ..config(fixture, "public-app")
    };
    TokenKeeper::new(config).expect("builds")
}

/// Approves (or denies) `user_code` at the fixture after `delay`, as the
/// user would on their phone.
fn user_answers(fixture: &Fixture, user_code: String, deny: bool, delay: Duration) -> std::thread::JoinHandle<()> {
    let url = fixture.url("/device/approve");
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let mut form = vec![("user_code", user_code)];
            if deny {
                form.push(("deny", "true".into()));
            }
            let status = reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("approve")
                .status();
            assert!(status.is_success(), "approval answered {status}");
        });
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_approves_and_the_device_gets_tokens() {
    let fixture = Fixture::start();
    let keeper = device_keeper(&fixture);
    let device = keeper.start_device_authorization().await.expect("started");
    assert!(device.verification_uri().ends_with("/device"));
    assert!(device
        .verification_uri_complete()
        .expect("complete uri")
        .contains(&device.user_code()));
    let user = user_answers(&fixture, device.user_code(), false, Duration::from_millis(1_500));
    let tokens = keeper.complete_device_authorization(device).await.expect("approved");
    user.join().expect("user");
    assert!(tokens.has_refresh_token());
    assert_eq!(tokens.scope().as_deref(), Some("tv"));
    assert_eq!(keeper.state(), SessionState::Valid);
    let me = keeper
        .send(HttpRequest::get(fixture.url("/api/me")))
        .await
        .expect("api");
    assert_eq!(me.status, 200);
    let stats = fixture.stats().await;
    assert!(
        stats["token_requests"]["device_code"].as_u64().expect("count") >= 2,
        "polled while pending: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_denies() {
    let fixture = Fixture::start();
    let keeper = device_keeper(&fixture);
    let device = keeper.start_device_authorization().await.expect("started");
    let user = user_answers(&fixture, device.user_code(), true, Duration::from_millis(200));
    let error = keeper.complete_device_authorization(device).await.expect_err("denied");
    user.join().expect("user");
    assert!(matches!(error, TokenKeepError::Authorization { .. }), "{error:?}");
    assert!(error.to_string().contains("denied"), "{error}");
    assert_eq!(keeper.state(), SessionState::Empty);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_down_adds_five_seconds_to_the_interval() {
    let fixture = Fixture::start();
    let keeper = device_keeper(&fixture);
    let device = keeper.start_device_authorization().await.expect("started");
    assert_eq!(device.interval_secs(), 1);
    fixture
        .fault(json!({"status": 400, "body": "{\"error\":\"slow_down\"}"}))
        .await;
    let user = user_answers(&fixture, device.user_code(), false, Duration::from_millis(1_500));
    let started = std::time::Instant::now();
    keeper
        .complete_device_authorization(device.clone())
        .await
        .expect("approved");
    user.join().expect("user");
    assert_eq!(device.interval_secs(), 6);
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "waited 1 s, then 6 s: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_device_code_ends_the_attempt() {
    let fixture = Fixture::start_with(tokenkeep_fixture_server::ServerConfig {
        device_code_ttl_secs: 1,
        ..Default::default()
    });
    let keeper = device_keeper(&fixture);
    let device = keeper.start_device_authorization().await.expect("started");
    let error = keeper.complete_device_authorization(device).await.expect_err("expired");
    assert!(matches!(error, TokenKeepError::Authorization { .. }), "{error:?}");
    assert!(error.to_string().contains("expired"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_polling_attempt_can_be_cancelled() {
    let fixture = Fixture::start();
    let keeper = device_keeper(&fixture);
    let device = keeper.start_device_authorization().await.expect("started");
    let canceller = {
        let device = device.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            device.cancel();
        })
    };
    let error = keeper
        .complete_device_authorization(device)
        .await
        .expect_err("cancelled");
    canceller.join().expect("canceller");
    assert!(error.to_string().contains("cancelled"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn device_sign_in_without_an_endpoint_is_a_configuration_error() {
    let fixture = Fixture::start();
    let keeper = TokenKeeper::new(config(&fixture, "public-app")).expect("builds");
    let error = keeper.start_device_authorization().await.expect_err("no endpoint");
    assert!(matches!(error, TokenKeepError::Configuration { .. }), "{error:?}");
}
