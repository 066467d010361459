//! Issue 11, "Secrets in text": no secret tokenkeep sent reaches an error,
//! a log record or a listener event, in any form a server may echo it
//! (raw, form-urlencoded, base64 in the Basic credentials, a long prefix);
//! no error quotes a URL's query, fragment or userinfo, nor a token value;
//! tokens with characters RFC 6750 / RFC 6749 do not allow are refused.

mod support;

use std::sync::{Arc, OnceLock};

use base64::Engine;
use parking_lot::Mutex;
use serde_json::json;
use support::*;
use tokenkeep::{
    flush_listener_events, set_log_sink, ClientAuthMethod, ClientConfig, LogLevel, LogRecord, LogSink, RefreshPolicy,
    TokenKeeper, TokenKeeperBuilder,
};

/// Records every log record of this test process.
#[derive(Default)]
struct RecordingSink {
    records: Mutex<Vec<LogRecord>>,
}

impl LogSink for RecordingSink {
    fn log(&self, record: LogRecord) {
        self.records.lock().push(record);
    }
}

/// The process-wide sink, installed once (tests in this file run in parallel).
fn sink() -> &'static Arc<RecordingSink> {
    static SINK: OnceLock<Arc<RecordingSink>> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink = Arc::new(RecordingSink::default());
        assert!(
            set_log_sink(sink.clone(), LogLevel::Trace),
            "the only sink of this process"
        );
        sink
    })
}

/// Every text of every record delivered so far.
fn log_texts() -> Vec<String> {
    assert!(flush_listener_events(5_000), "the dispatch thread drains");
    sink()
        .records
        .lock()
        .iter()
        .map(|r| format!("{} {} {}", r.target, r.message, r.fields))
        .collect()
}

/// The secret client of these tests: its secret changes when form-urlencoded.
const CLIENT_ID: &str = "echo-client";
const CLIENT_SECRET: &str = "cs/Echo+Secret=with:colon 0123456789";
const REFRESH_TOKEN: &str = "rt_echo/refresh+token=0123456789abcdef";
const ACCESS_TOKEN: &str = "at_echo-access-token-0123456789abcdef";

fn form_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The forms in which a server could echo what it was sent.
fn echoed_forms(auth: ClientAuthMethod) -> Vec<(&'static str, String)> {
    let mut forms = vec![
        ("raw client secret", CLIENT_SECRET.to_owned()),
        ("urlencoded client secret", form_encoded(CLIENT_SECRET)),
        ("client secret prefix", CLIENT_SECRET[..10].to_owned()),
        (
            "urlencoded client secret prefix",
            form_encoded(CLIENT_SECRET)[..12].to_owned(),
        ),
        ("raw refresh token", REFRESH_TOKEN.to_owned()),
        ("urlencoded refresh token", form_encoded(REFRESH_TOKEN)),
        ("refresh token prefix", REFRESH_TOKEN[..9].to_owned()),
        ("access token", ACCESS_TOKEN.to_owned()),
    ];
    if auth == ClientAuthMethod::ClientSecretBasic {
        let pair = format!("{}:{}", form_encoded(CLIENT_ID), form_encoded(CLIENT_SECRET));
        let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
        forms.push(("Basic header value", format!("Basic {b64}")));
        forms.push(("base64 credentials prefix", b64[..16].to_owned()));
        forms.push(("base64 credentials", b64));
    }
    forms
}

/// What must never be shown, whatever the form it was echoed in.
fn forbidden(auth: ClientAuthMethod) -> Vec<String> {
    let mut all: Vec<String> = echoed_forms(auth).into_iter().map(|(_, s)| s).collect();
    // The secret's tail, which a scrub of only the first form would leave.
    all.push(CLIENT_SECRET[8..].to_owned());
    all.push(form_encoded(CLIENT_SECRET)[8..].to_owned());
    all.push(REFRESH_TOKEN[8..].to_owned());
    all
}

async fn echo_keeper(fixture: &Fixture, auth: ClientAuthMethod) -> (Arc<TokenKeeper>, Arc<RecordingListener>) {
    fixture
        .client(json!({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
        .await;
    let listener = Arc::new(RecordingListener::default());
    let keeper = TokenKeeperBuilder::new(ClientConfig {
        auth_method: Some(auth),
        ..config(fixture, CLIENT_ID)
    })
    .client_secret(CLIENT_SECRET.into())
    .policy(RefreshPolicy {
        max_retries: 0,
        ..fast_policy()
    })
    .manual_clock(tokenkeep::ManualClock::new())
    .listener(listener.clone())
    .build()
    .expect("builds");
    keeper
        .set_tokens(ACCESS_TOKEN.into(), Some(REFRESH_TOKEN.into()), Some(3600), None)
        .expect("set tokens");
    (keeper, listener)
}

fn assert_none_shown(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "{what}: `{secret}` shown in: {text}");
    }
}

/// Issue 11, item 1: every form of every secret of a refresh request, echoed
/// in `error_description` (and in `error`), stays out of the error, the
/// refresh-failed event and the log records, with either client
/// authentication method, whether the answer is final (400) or transient (503).
#[tokio::test(flavor = "multi_thread")]
async fn echoed_secrets_in_every_form_stay_out_of_errors_events_and_logs() {
    sink();
    for auth in [ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost] {
        let fixture = Fixture::start();
        let (keeper, listener) = echo_keeper(&fixture, auth).await;
        let secrets = forbidden(auth);
        for (form, echo) in echoed_forms(auth) {
            for status in [400u16, 503] {
                let body = json!({
                    "error": format!("invalid_request {echo}"),
                    "error_description": format!("we got `{echo}` and do not like it"),
                });
                fixture.fault(json!({"status": status, "body": body.to_string()})).await;
                let e = keeper.refresh().await.expect_err("the fault answers");
                let what = format!("{auth:?}, {form}, HTTP {status}");
                assert_none_shown(&what, &format!("{e} {e:?}"), &secrets);
                assert!(e.to_string().contains("[redacted]"), "{what}: {e}");
            }
        }
        eventually("the refresh-failed events", || {
            listener.failed.lock().len() == 2 * echoed_forms(auth).len()
        });
        for failure in listener.failed.lock().iter() {
            assert_none_shown("refresh-failed event", &format!("{failure:?}"), &secrets);
        }
        assert_eq!(
            keeper.tokens().expect("kept").refresh_token().as_deref(),
            Some(REFRESH_TOKEN)
        );
    }
    let logs = log_texts();
    assert!(
        logs.iter().any(|l| l.contains("token refresh failed")),
        "the failures were logged: {logs:?}"
    );
    for line in &logs {
        assert_none_shown("log record", line, &forbidden(ClientAuthMethod::ClientSecretBasic));
    }
}

/// Issue 11, item 1: the client secret echoed by a client_credentials
/// grant's error (the request carries no other secret).
#[tokio::test(flavor = "multi_thread")]
async fn a_client_credentials_error_echoing_the_client_secret_is_scrubbed() {
    sink();
    let fixture = Fixture::start();
    let keeper = TokenKeeperBuilder::new(ClientConfig {
        client_credentials: true,
        auth_method: Some(ClientAuthMethod::ClientSecretPost),
        ..config(&fixture, "m2m-client")
    })
    .client_secret("m2m-secret-but-long-enough".into())
    .policy(RefreshPolicy {
        max_retries: 0,
        ..fast_policy()
    })
    .build()
    .expect("builds");
    let body =
        json!({"error": "unauthorized_client", "error_description": "m2m-secret-but-long-enough is not allowed"});
    fixture.fault(json!({"status": 400, "body": body.to_string()})).await;
    let e = keeper.access_token().await.expect_err("refused");
    assert_none_shown("error", &format!("{e} {e:?}"), &["m2m-secret".to_owned()]);
}

/// Issue 11, item 1: the authorization code and the PKCE verifier of a code
/// exchange, echoed raw and as prefixes.
#[tokio::test(flavor = "multi_thread")]
async fn a_code_exchange_error_echoing_the_code_and_verifier_is_scrubbed() {
    sink();
    let fixture = Fixture::start();
    let keeper = TokenKeeperBuilder::new(config(&fixture, "public-app"))
        .build()
        .expect("builds");
    let code = "code_0123456789abcdefghij";
    let verifier = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCD";
    for echo in [code, verifier, &code[..10], &verifier[..12]] {
        let body = json!({"error": "invalid_request", "error_description": format!("bad: {echo}")});
        fixture.fault(json!({"status": 400, "body": body.to_string()})).await;
        let e = keeper
            .exchange_code(code.into(), verifier.into())
            .await
            .expect_err("refused");
        assert_none_shown(
            "error",
            &format!("{e} {e:?}"),
            &[code[..8].to_owned(), verifier[..8].to_owned()],
        );
    }
}
