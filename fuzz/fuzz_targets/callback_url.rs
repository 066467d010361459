//! The authorization callback (`pkce.rs` `code_from_callback`, RFC 6749
//! §4.1.2): the URL the browser came back with.
//!
//! Input: the expected `state` on the first line, the URL after it.
//!
//! Properties: no panic; a code is returned only when the callback carries
//! no `error`, its `state` is the expected one, and the code is the
//! callback's `code`; a refusal is an `Authorization` error that does not
//! quote the code (unless the server's own `error` text does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeep::fuzzing::code_from_callback;
use tokenkeep_fuzz::{assert_absent, lines, secret_like, secret_like_runs};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let (head, rest) = lines(data, 1);
    let (Ok(expected_state), Ok(callback)) = (std::str::from_utf8(head[0]), std::str::from_utf8(rest)) else {
        return;
    };
    let result = code_from_callback(callback, expected_state);
    let Ok(url) = Url::parse(callback) else {
        let error = result.expect_err("a URL the url crate refuses is refused");
        assert_eq!(error.kind, "Authorization");
        for run in secret_like_runs(rest) {
            assert_absent(&error.display, run, "an invalid-URL error");
        }
        return;
    };
    let last = |name: &str| {
        url.query_pairs()
            .filter(|(n, _)| n == name)
            .last()
            .map(|(_, v)| v.into_owned())
    };
    match result {
        Ok(code) => {
            assert_eq!(last("error"), None, "a code was returned from an error callback");
            assert_eq!(last("state").as_deref(), Some(expected_state));
            assert_eq!(last("code").as_deref(), Some(code.as_str()));
        }
        Err(error) => {
            assert_eq!(error.kind, "Authorization");
            let server_text = format!("{:?} {:?}", last("error"), last("error_description"));
            if let Some(code) = last("code").filter(|c| secret_like(c) && !server_text.contains(c.as_str())) {
                assert_absent(&error.display, &code, "a callback error");
            }
        }
    }
});
