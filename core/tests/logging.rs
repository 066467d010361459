//! tokenkeep's log lines reach an installed `LogSink`: a failed refresh is a
//! WARN naming the account, refreshed-but-unsaved tokens an ERROR, neither
//! carrying a token; records above the maximum level, and other crates'
//! records, are not passed on; a panicking sink loses only its record.
//!
//! The sink is process-global, so the tests take turns (`SERIAL`).

mod support;

use std::sync::Arc;

use serde_json::json;
use support::*;
use tokenkeep::{
    flush_listener_events, set_log_level, set_log_sink, LogLevel, LogRecord, LogSink, MemoryStore, RefreshPolicy,
    TokenKeeper, TokenKeeperOptions, TokenStore,
};

/// Panics on every record.
struct PanickingSink;

impl LogSink for PanickingSink {
    fn log(&self, _record: LogRecord) {
        panic!("a sink that fails");
    }
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Installs a fresh recording sink at `level`.
fn recording_sink(level: LogLevel) -> Arc<RecordingSink> {
    let sink = Arc::new(RecordingSink::default());
    assert!(
        set_log_sink(sink.clone(), level),
        "no other subscriber in this test process"
    );
    sink
}

/// The records delivered so far (after draining the dispatch thread).
fn delivered(sink: &RecordingSink) -> Vec<LogRecord> {
    assert!(flush_listener_events(5_000), "the dispatch thread drains");
    sink.records.lock().clone()
}

/// Whether any record shows `secret` in any of its texts.
fn shows(records: &[LogRecord], secret: &str) -> bool {
    records
        .iter()
        .any(|r| r.message.contains(secret) || r.fields.contains(secret) || r.target.contains(secret))
}

/// A signed-in keeper for `account` with no retries, on a manual clock.
async fn keeper_for(
    fixture: &Fixture,
    account: &str,
    store: Arc<dyn TokenStore>,
) -> (Arc<TokenKeeper>, Arc<tokenkeep::ManualClock>) {
    let clock = tokenkeep::ManualClock::new();
    let keeper = TokenKeeper::new(TokenKeeperOptions {
        account_id: account.into(),
        policy: RefreshPolicy {
            max_retries: 0,
            ..fast_policy()
        },
        store: Some(store),
        clock: Some(clock.clone()),
        ..config(fixture, "public-app")
    })
    .expect("builds");
    let tokens = fixture.sign_in_tokens("public-app").await;
    keeper.set_token_response(tokens.to_string()).expect("set tokens");
    (keeper, clock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_refresh_logs_a_warning_naming_the_account_without_tokens() {
    let _turn = SERIAL.lock().await;
    let sink = recording_sink(LogLevel::Trace);
    let fixture = Fixture::start();
    let (keeper, clock) = keeper_for(&fixture, "log-warn-account", Arc::new(MemoryStore::new())).await;
    let tokens = keeper.tokens().expect("tokens");
    clock.advance_secs(3_600);
    fixture.fault(json!({"status": 503})).await;
    keeper.access_token().await.expect_err("the server is unavailable");

    let records = delivered(&sink);
    let warning = records
        .iter()
        .find(|r| r.level == LogLevel::Warn && r.message == "token refresh failed")
        .unwrap_or_else(|| panic!("a refresh warning among {records:?}"));
    assert_eq!(warning.target, "tokenkeep::session::refresh");
    assert!(warning.fields.contains("account=log-warn-account"), "{warning:?}");
    assert!(warning.fields.contains("503"), "the error is told: {warning:?}");
    assert!(!shows(&records, &tokens.access_token()));
    assert!(!shows(&records, &tokens.refresh_token().expect("refresh token")));
}

#[tokio::test(flavor = "multi_thread")]
async fn refreshed_tokens_that_could_not_be_saved_are_logged_without_them() {
    let _turn = SERIAL.lock().await;
    let sink = recording_sink(LogLevel::Trace);
    let fixture = Fixture::start();
    let store = FailingSaves::new(Arc::new(MemoryStore::new()));
    let (keeper, clock) = keeper_for(&fixture, "log-unsaved-account", store.clone()).await;
    let before = keeper.tokens().expect("tokens");
    store.fail_next_saves(u32::MAX);
    clock.advance_secs(3_600);
    let refreshed = keeper.access_token().await.expect("the refresh itself succeeds");
    let after = keeper.tokens().expect("kept in memory");
    assert_eq!(refreshed, after.access_token());

    let records = delivered(&sink);
    let error = records
        .iter()
        .find(|r| r.level == LogLevel::Warn && r.message.contains("could not be stored"))
        .unwrap_or_else(|| panic!("an unsaved-tokens warning among {records:?}"));
    assert!(error.fields.contains("account=log-unsaved-account"), "{error:?}");
    assert!(error.fields.contains("No space left on device"), "{error:?}");
    for secret in [
        before.access_token(),
        before.refresh_token().expect("refresh token"),
        after.access_token(),
        after.refresh_token().expect("refresh token"),
    ] {
        assert!(!shows(&records, &secret), "a token appears in {records:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_above_the_maximum_level_and_of_other_crates_are_not_passed_on() {
    let _turn = SERIAL.lock().await;
    let sink = recording_sink(LogLevel::Info);
    tracing::debug!(target: "tokenkeep::tests", "a debug line");
    tracing::warn!(target: "another_crate", "a warning of someone else's");
    tracing::info!(target: "tokenkeep::tests", probe = 1, "an info line");
    let records = delivered(&sink);
    assert_eq!(
        records,
        vec![LogRecord {
            level: LogLevel::Info,
            target: "tokenkeep::tests".into(),
            message: "an info line".into(),
            fields: "probe=1".into(),
        }]
    );

    set_log_level(LogLevel::Debug);
    tracing::debug!(target: "tokenkeep::tests", "now a debug line passes");
    let records = delivered(&sink);
    assert_eq!(records.last().map(|r| r.level), Some(LogLevel::Debug), "{records:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_sink_loses_only_its_record() {
    let _turn = SERIAL.lock().await;
    assert!(set_log_sink(Arc::new(PanickingSink), LogLevel::Trace));
    tracing::warn!(target: "tokenkeep::tests", "to a sink that panics");
    assert!(flush_listener_events(5_000));

    let sink = recording_sink(LogLevel::Trace);
    tracing::warn!(target: "tokenkeep::tests", "to a working sink");
    let messages: Vec<String> = delivered(&sink).into_iter().map(|r| r.message).collect();
    assert_eq!(messages, vec!["to a working sink".to_owned()]);
}
