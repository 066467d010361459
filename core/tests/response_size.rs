//! Issue 11, "Bounds and syntax" item 5: answers are read with a size cap.
//! An authorization-server answer over `max_response_bytes` (announced with
//! `Content-Length` or streamed chunked) and an API answer over
//! `max_api_response_bytes` are `Protocol` errors naming the cap and the
//! setting; tokens are kept and the session goes on.

mod support;

use serde_json::json;
use support::*;
use tokenkeep::{HttpRequest, RefreshPolicy, TokenKeepError, DEFAULT_MAX_RESPONSE_BYTES};

/// 10 MB: far over the 64 KiB default.
const HUGE: i64 = 10_000_000;

/// A fault answering (without processing the grant, so the refresh token is
/// not rotated) a usable token answer padded to `bytes`.
fn padded_token_answer(bytes: i64, chunked: bool) -> serde_json::Value {
    json!({
        "status": 200,
        "body": r#"{"access_token":"from-the-padded-answer","token_type":"Bearer","expires_in":3600}"#,
        "pad_to_bytes": bytes,
        "chunked": chunked,
    })
}

/// The error of `result`, without printing a large body on failure.
fn refused(result: Result<tokenkeep::HttpResponse, TokenKeepError>) -> TokenKeepError {
    match result {
        Ok(response) => panic!("accepted a {}-byte answer", response.body.len()),
        Err(error) => error,
    }
}

fn assert_over_cap(error: &TokenKeepError, setting: &str) {
    assert!(matches!(error, TokenKeepError::BadResponse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&format!("RefreshPolicy.{setting}")), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_over_cap_token_answer_is_refused_unretried_and_the_session_goes_on() {
    for (framing, fault) in [
        ("content-length", padded_token_answer(HUGE, false)),
        ("chunked", padded_token_answer(HUGE, true)),
    ] {
        let fixture = Fixture::start();
        let (keeper, _, _) = signed_in_keeper(&fixture).await;
        let before = keeper.tokens().expect("tokens").access_token();
        fixture.fault(fault).await;
        let error = keeper.refresh().await.expect_err(framing);
        assert_over_cap(&error, "max_response_bytes");
        if framing == "content-length" {
            assert!(error.to_string().contains(&HUGE.to_string()), "{error}");
        }
        assert_eq!(fixture.refresh_requests().await, 1, "{framing}: not retried");
        assert_eq!(keeper.tokens().expect("kept").access_token(), before, "{framing}");
        let after = keeper.refresh().await.expect("the next refresh works");
        assert_ne!(after.access_token(), before);
        let response = keeper
            .send(HttpRequest::get(fixture.url("/api/me")))
            .await
            .expect("sent");
        assert_eq!(response.status, 200, "{framing}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_answer_of_exactly_the_cap_is_accepted_and_one_byte_more_is_not() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    for chunked in [false, true] {
        // The server's real answer (new tokens), padded to exactly the cap.
        fixture
            .fault(json!({"pad_to_bytes": DEFAULT_MAX_RESPONSE_BYTES, "chunked": chunked}))
            .await;
        let tokens = keeper.refresh().await.expect("a 64 KiB answer is accepted");
        assert_eq!(keeper.tokens().expect("stored").access_token(), tokens.access_token());
        fixture
            .fault(padded_token_answer(DEFAULT_MAX_RESPONSE_BYTES + 1, chunked))
            .await;
        let error = keeper.refresh().await.expect_err("one byte over");
        assert_over_cap(&error, "max_response_bytes");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_over_cap_error_body_is_refused_too() {
    let fixture = Fixture::start();
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let before = keeper.tokens().expect("tokens").access_token();
    fixture
        .fault(json!({"status": 400, "pad_to_bytes": HUGE, "chunked": true}))
        .await;
    let error = keeper.refresh().await.expect_err("over the cap");
    assert_over_cap(&error, "max_response_bytes");
    assert_eq!(keeper.tokens().expect("kept").access_token(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_answer_cap_is_configurable() {
    let fixture = Fixture::start();
    let policy = RefreshPolicy {
        max_response_bytes: 2 * HUGE,
        ..fast_policy()
    };
    let (keeper, _, _) = signed_in_keeper_with(&fixture, policy).await;
    fixture.fault(padded_token_answer(HUGE, true)).await;
    let tokens = keeper.refresh().await.expect("under the raised cap");
    assert_eq!(tokens.access_token(), "from-the-padded-answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_over_cap_api_answer_through_send_is_a_protocol_error() {
    let fixture = Fixture::start();
    let policy = RefreshPolicy {
        max_api_response_bytes: 1_000,
        ..fast_policy()
    };
    let (keeper, _, _) = signed_in_keeper_with(&fixture, policy).await;
    for chunked in [false, true] {
        let url = |bytes: u64| fixture.url(&format!("/api/large?bytes={bytes}&chunked={chunked}"));
        let response = keeper.send(HttpRequest::get(url(1_000))).await.expect("at the cap");
        assert_eq!(response.body.len(), 1_000);
        let error = refused(keeper.send(HttpRequest::get(url(1_001))).await);
        assert_over_cap(&error, "max_api_response_bytes");
    }
    // The default cap (16 MiB) refuses a 20 MB answer.
    let (keeper, _, _) = signed_in_keeper(&fixture).await;
    let error = refused(
        keeper
            .send(HttpRequest::get(fixture.url("/api/large?bytes=20000000&chunked=true")))
            .await,
    );
    assert_over_cap(&error, "max_api_response_bytes");
    assert!(error.to_string().contains("16777216"), "{error}");
}
