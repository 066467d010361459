//! Issue 11, "Secrets in text": no secret tokenkeep sent reaches an error,
//! a log record or a listener event, in any form a server may echo it
//! (raw, form-urlencoded, base64 in the Basic credentials, a long prefix);
//! no error quotes a URL's query, fragment or userinfo, nor a token value;
//! tokens with characters RFC 6750 / RFC 6749 do not allow are refused.

mod support;

use std::sync::{Arc, OnceLock};

use base64::Engine;
use serde_json::json;
use support::*;
use tokenkeep::{
    flush_listener_events, set_log_sink, ClientAuthMethod, HttpRequest, LogLevel, RefreshPolicy, TokenKeepError,
    TokenKeeper, TokenKeeperOptions,
};

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
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some(CLIENT_SECRET.into()),
        policy: RefreshPolicy {
            max_retries: 0,
            ..fast_policy()
        },
        clock: Some(tokenkeep::ManualClock::new()),
        listener: Some(listener.clone()),
        ..TokenKeeperOptions {
            auth_method: Some(auth),
            ..config(fixture, CLIENT_ID)
        }
    })
    .expect("builds");
    keeper
        .set_tokens(ACCESS_TOKEN.into(), Some(REFRESH_TOKEN.into()), Some(3600), None, None)
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
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        client_secret: Some("m2m-secret-but-long-enough".into()),
        policy: RefreshPolicy {
            max_retries: 0,
            ..fast_policy()
        },
        ..TokenKeeperOptions {
            client_credentials: true,
            auth_method: Some(ClientAuthMethod::ClientSecretPost),
            ..config(&fixture, "m2m-client")
        }
    })
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
    let keeper = TokenKeeper::new(config(&fixture, "public-app")).expect("builds");
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
/// Issue 11, item 2: a URL that does not parse is quoted without its query,
/// fragment or userinfo.
#[test]
fn an_invalid_url_is_quoted_without_query_fragment_or_userinfo() {
    for bad in [
        "https://auth example.com/token?client_secret=hunter2-query-secret",
        "https://user:hunter2-password@auth example.com/token",
        "https://auth example.com/token#hunter2-fragment",
        "htps//auth.example.com/token?client_secret=hunter2-query-secret",
    ] {
        let e = TokenKeeper::new(TokenKeeperOptions::new(bad, "app")).expect_err("invalid URL");
        assert!(matches!(e, TokenKeepError::Configuration { .. }), "{e:?}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("token_endpoint"), "names the setting: {text}");
    }
}

/// Issue 11, item 2: the same for the URL of an authorized request.
#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_request_url_is_quoted_without_its_query() {
    let fixture = Fixture::start();
    let (keeper, _clock, _listener) = signed_in_keeper(&fixture).await;
    let e = keeper
        .send(HttpRequest::get("https://api example.com/me?api_key=hunter2-api-key"))
        .await
        .expect_err("invalid URL");
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
}

/// Issue 11, item 3: an unsupported `token_type` is named, not quoted.
#[test]
fn an_unsupported_token_type_is_named_not_quoted() {
    let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "app")).expect("builds");
    let e = keeper
        .set_token_response(r#"{"access_token":"at","token_type":"mac-hunter2-value"}"#.into())
        .expect_err("not Bearer");
    assert!(matches!(e, TokenKeepError::BadResponse { .. }), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("token_type"), "{e}");
}

/// Tokens with a character RFC 6750 §2.1 (access) or RFC 6749 Appendix A
/// (refresh) does not allow.
const BAD_ACCESS_TOKENS: [&str; 5] = [
    "at-hunter2\u{1}ctl",
    "at-hunter2\r\nX-Injected: 1",
    "at hunter2 space",
    "at-hunter2=pad=middle",
    "at-hunter2-é",
];
const BAD_REFRESH_TOKENS: [&str; 3] = ["rt-hunter2\u{0}nul", "rt-hunter2\nnewline", "rt-hunter2\u{7f}del"];

/// Issue 11, item 6: `set_tokens` refuses such tokens with a `Protocol`
/// error naming the field, never the value, and keeps nothing of them.
#[test]
fn set_tokens_refuses_tokens_outside_the_rfc_syntax() {
    let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "app")).expect("builds");
    for bad in BAD_ACCESS_TOKENS {
        let e = keeper.set_tokens(bad.into(), None, None, None, None).expect_err(bad);
        assert!(matches!(e, TokenKeepError::BadResponse { .. }), "{e:?}");
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
        assert!(e.to_string().contains("access token"), "{e}");
    }
    for bad in BAD_REFRESH_TOKENS {
        let e = keeper
            .set_tokens("good-at".into(), Some(bad.into()), None, None, None)
            .expect_err(bad);
        assert!(matches!(e, TokenKeepError::BadResponse { .. }), "{e:?}");
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
        assert!(e.to_string().contains("refresh token"), "{e}");
    }
    assert!(keeper.tokens().is_none(), "nothing was kept");
    // What the RFCs allow is accepted: base64 with padding, a VSCHAR refresh token with spaces.
    keeper
        .set_tokens(
            "a.B-c_d~e+f/9==".into(),
            Some("rt with spaces ~!".into()),
            None,
            None,
            None,
        )
        .expect("valid syntax");
}

/// Issue 11, item 6: the same in a token response, for `access_token`,
/// `refresh_token` and `id_token`.
#[test]
fn a_token_response_with_tokens_outside_the_rfc_syntax_is_refused() {
    let keeper = TokenKeeper::new(TokenKeeperOptions::new("https://auth.example.com/token", "app")).expect("builds");
    let mut bodies = Vec::new();
    for bad in BAD_ACCESS_TOKENS {
        bodies.push(("access_token", json!({"access_token": bad})));
        bodies.push(("id_token", json!({"access_token": "at", "id_token": bad})));
    }
    for bad in BAD_REFRESH_TOKENS {
        bodies.push(("refresh_token", json!({"access_token": "at", "refresh_token": bad})));
    }
    for (field, body) in bodies {
        let e = keeper.set_token_response(body.to_string()).expect_err(field);
        assert!(matches!(e, TokenKeepError::BadResponse { .. }), "{e:?}");
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
        assert!(e.to_string().contains(field), "names `{field}`: {e}");
    }
    assert!(keeper.tokens().is_none(), "nothing was kept");
}

/// Issue 11, item 6: a refresh answered with a malformed access token is a
/// `Protocol` error, and the old tokens are kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_answer_with_a_malformed_token_keeps_the_old_tokens() {
    let fixture = Fixture::start();
    let (keeper, _clock, listener) = signed_in_keeper(&fixture).await;
    let before = keeper.tokens().expect("tokens");
    for body in [
        json!({"access_token": "at-hunter2\u{1}", "token_type": "Bearer", "expires_in": 60}),
        json!({"access_token": "at", "refresh_token": "rt-hunter2\n", "token_type": "Bearer"}),
    ] {
        fixture.fault(json!({"status": 200, "body": body.to_string()})).await;
        let e = keeper.refresh().await.expect_err("malformed token");
        assert!(matches!(e, TokenKeepError::BadResponse { .. }), "{e:?}");
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
        let after = keeper.tokens().expect("kept");
        assert_eq!(after.access_token(), before.access_token());
        assert_eq!(after.refresh_token(), before.refresh_token());
    }
    eventually("two refresh failures", || listener.failed.lock().len() == 2);
}
