//! The device authorization answer (`device.rs`, RFC 8628 §3.2).
//!
//! Properties: no panic (including the poll schedule: interval, `slow_down`,
//! time left); an accepted answer has a user code, a verification URI and an
//! interval of at least 1 s, and shows no device code in `Debug`/`Display`;
//! a refused answer quotes nothing from the body; `slow_down` never shortens
//! the interval, and the blocking call's deadline is computed without panic
//! (finding 1 of `fuzz/regressions/README.md`, fixed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeep::fuzzing::{
    device_code, device_poll_interval, device_polling_deadline, device_slow_down, device_time_left,
    parse_device_authorization,
};
use tokenkeep_fuzz::{assert_absent, assert_absent_debug, secret_like, secret_like_runs};

fuzz_target!(|data: &[u8]| match parse_device_authorization(data) {
    Ok(device) => {
        assert!(!device.user_code().is_empty());
        assert!(!device.verification_uri().is_empty());
        assert!(device.interval_secs() >= 1);
        let code = device_code(&device);
        let (debug, display) = (format!("{device:?}"), device.to_string());
        let public = format!("{} {}", device.user_code(), device.verification_uri());
        if secret_like(&code) && !public.contains(&code) {
            assert_absent_debug(&debug, &code, "a device authorization's Debug");
            assert_absent(&display, &code, "a device authorization's Display");
        }
        let (_, left) = device_time_left(&device);
        assert!(i64::try_from(left.as_secs()).unwrap_or(i64::MAX) <= device.expires_in_secs());
        let before = device_poll_interval(&device);
        let _ = device_polling_deadline(&device);
        device_slow_down(&device);
        assert!(
            device_poll_interval(&device) >= before,
            "slow_down shortened the interval"
        );
    }
    Err(error) => {
        assert_eq!(error.kind, "MalformedResponse");
        for run in secret_like_runs(data) {
            assert_absent(&error.display, run, "a device authorization error");
        }
    }
});
