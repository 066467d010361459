//! The token endpoint's 2xx body (RFC 6749 §5.1), read with the default and
//! the camelCase mapping, with and without a server `Date`.
//!
//! Properties: no panic; an accepted answer has a non-empty access token, a
//! Bearer type, expiries not before reception, an object for its extra
//! fields, no token in its `Debug`/`Display`, and survives the store record
//! (encode, decode, same token set); a refused answer is a
//! `MalformedResponse` that quotes no token-like text from the body except
//! field names and the `token_type` value it complains about.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tokenkeep::fuzzing::{decode_record, encode_record, parse_token_response, ErrorText};
use tokenkeep::{ResponseMapping, TokenSet};
use tokenkeep_fuzz::{assert_absent, assert_absent_debug, secret_like, secret_like_runs, MAX_HTTP_DATE_MS};

/// The session clock when the answer arrived: 2025-10-06, like the tests.
const RECEIVED_AT_MS: i64 = 1_759_750_000_000;

fuzz_target!(|data: &[u8]| {
    for mapping in [ResponseMapping::default(), ResponseMapping::camel_case()] {
        for date in [None, Some(RECEIVED_AT_MS - 3_600_000), Some(0), Some(MAX_HTTP_DATE_MS)] {
            match parse_token_response(data, &mapping, RECEIVED_AT_MS, date) {
                Ok(tokens) => check_accepted(&tokens),
                Err(error) => check_refused(&error, data, &mapping),
            }
        }
    }
});

fn check_accepted(tokens: &TokenSet) {
    let access = tokens.access_token();
    assert!(!access.is_empty());
    assert_eq!(tokens.token_type(), "Bearer");
    if let Some(at) = tokens.expires_at_unix_ms() {
        assert!(
            at > RECEIVED_AT_MS,
            "access token expires at {at}, before it was received"
        );
    }
    if let Some(at) = tokens.refresh_token_expires_at_unix_ms() {
        assert!(
            at >= RECEIVED_AT_MS,
            "refresh token expires at {at}, before it was received"
        );
    }
    let extra: Value = serde_json::from_str(&tokens.extra_json()).expect("extra_json is JSON");
    assert!(extra.is_object());

    // No credential in what may be logged. The scope and the extra field
    // names are shown on purpose; a token equal to one of them is no leak.
    let (debug, display) = (format!("{tokens:?}"), tokens.to_string());
    let scope = tokens.scope().unwrap_or_default();
    let names: Vec<String> = tokens.extra().keys().cloned().collect();
    for secret in [Some(access), tokens.refresh_token(), tokens.id_token()]
        .into_iter()
        .flatten()
    {
        if secret_like(&secret) && !scope.contains(&secret) && !names.iter().any(|n| n.contains(&secret)) {
            assert_absent_debug(&debug, &secret, "a token set's Debug");
            assert_absent(&display, &secret, "a token set's Display");
        }
    }

    // What the session stores reads back the same.
    let record = encode_record(tokens, 7, RECEIVED_AT_MS).expect("a parsed token set encodes");
    let back = decode_record(&record, "user-1").expect("an encoded token set decodes");
    assert_eq!(back.generation, 7);
    assert_eq!(
        serde_json::to_value(&back.tokens).expect("serialize"),
        serde_json::to_value(tokens).expect("serialize")
    );
}

fn check_refused(error: &ErrorText, body: &[u8], mapping: &ResponseMapping) {
    assert_eq!(error.kind, "MalformedResponse", "{error:?}");
    // What the message may quote: the answer's field names and the
    // `token_type` it refuses.
    let mut quotable: Vec<String> = Vec::new();
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        quotable.extend(fields.keys().cloned());
        if let Some(Value::String(t)) = fields.get(&mapping.token_type) {
            quotable.push(t.clone());
        }
    }
    for run in secret_like_runs(body) {
        if !quotable.iter().any(|q| q.contains(run)) {
            assert_absent(&error.display, run, "a token response error");
            assert_absent_debug(&error.debug, run, "a token response error's Debug");
        }
    }
}
