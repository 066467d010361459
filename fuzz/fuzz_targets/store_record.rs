//! The store record decoder (`store/record.rs`): `decode` and
//! `peek_metadata` on any bytes a store hands back.
//!
//! Properties: no panic; a decoded record re-encodes and decodes to the
//! same record (`decode(encode(decode(x))) == decode(x)`); the metadata a
//! store indexes by agrees with the decoded record; an error quotes no
//! token-like text from the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeep::fuzzing::{decode_record, peek_record_metadata, reencode_record};
use tokenkeep_fuzz::{assert_absent, assert_absent_debug, secret_like_runs};

fuzz_target!(|data: &[u8]| {
    let peeked = peek_record_metadata(data);
    match decode_record(data, "user-1") {
        Ok(record) => {
            let tokens = &record.tokens;
            let refresh_expiry = if tokens.has_refresh_token() {
                tokens.refresh_token_expires_at_unix_ms()
            } else {
                None
            };
            assert_eq!(
                peeked,
                Some((record.generation, refresh_expiry)),
                "peek_metadata disagrees with decode"
            );
            let again = reencode_record(data, "user-1", 1).expect("a decoded record encodes");
            let back = decode_record(&again, "user-1").expect("an encoded record decodes");
            assert_eq!(back.generation, record.generation);
            assert_eq!(back.refresh_in_flight_json, record.refresh_in_flight_json);
            assert_eq!(
                serde_json::to_value(&back.tokens).expect("serialize"),
                serde_json::to_value(tokens).expect("serialize")
            );
        }
        Err(error) => {
            assert_eq!(error.kind, "Storage", "{error:?}");
            for run in secret_like_runs(data) {
                assert_absent(&error.display, run, "a store record error");
                assert_absent_debug(&error.debug, run, "a store record error's Debug");
            }
        }
    }
});
