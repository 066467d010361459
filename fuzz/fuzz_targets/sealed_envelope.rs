//! The sealed envelope (`store/envelope.rs`) under a fixed key and account.
//!
//! The first input byte picks the mode; the rest is its input:
//!
//! * `b'o'` (and any byte not below): `open` the bytes as a stored file. No
//!   panic; an opened record is exactly the sealed length minus header and
//!   tag; a `WrongKey` names a key id that is not ours, and anything we
//!   open carries our key id.
//! * `b's'`: the seal → open round trip of the bytes as a plaintext: it
//!   opens to the same bytes, not under another account, not under another
//!   key, and not after any single flipped bit (position from the input).
//! * `b'h'`: `AccountBinding::from_hex` on a file name: what it accepts
//!   prints back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenkeep::fuzzing::{binding_from_hex, key_id_hex, open_record, seal_record, sealed_key_id_hex, ENVELOPE_MIN_LEN};
use tokenkeep::StoreError;
use tokenkeep_fuzz::verbose;

/// The key of the seed corpus (`fuzz/corpus/sealed_envelope/`).
const KEY: [u8; 32] = [7; 32];
const OTHER_KEY: [u8; 32] = [8; 32];
const ACCOUNT: &str = "user-1";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        b's' => round_trip(rest),
        b'h' => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Some(hex) = binding_from_hex(text) {
                    assert_eq!(hex, text);
                }
            }
        }
        _ => open_stored(rest),
    }
});

fn open_stored(bytes: &[u8]) {
    let ours = key_id_hex(&KEY).expect("key");
    let result = open_record(&KEY, ACCOUNT, bytes, "fuzz.tkrec");
    if verbose() {
        eprintln!("open: {:?}", result.as_ref().map(Vec::len));
    }
    match result {
        Ok(plaintext) => {
            assert_eq!(plaintext.len() + ENVELOPE_MIN_LEN, bytes.len());
            assert_eq!(sealed_key_id_hex(bytes), Some(ours));
        }
        Err(StoreError::WrongKey { detail }) => {
            let theirs = sealed_key_id_hex(bytes).expect("a WrongKey record has a key id");
            assert_ne!(theirs, ours);
            assert!(detail.contains(&theirs) && detail.contains(&ours), "{detail}");
        }
        Err(StoreError::Corrupt { detail }) => assert!(detail.contains("fuzz.tkrec"), "{detail}"),
        Err(other) => panic!("open fails with neither WrongKey nor Corrupt: {other:?}"),
    }
}

fn round_trip(plaintext: &[u8]) {
    let sealed = seal_record(&KEY, ACCOUNT, plaintext).expect("seal");
    assert_eq!(sealed.len(), ENVELOPE_MIN_LEN + plaintext.len());
    let opened = open_record(&KEY, ACCOUNT, &sealed, "r").expect("open what was sealed");
    assert_eq!(opened, plaintext);
    assert!(matches!(
        open_record(&KEY, "user-2", &sealed, "r"),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        open_record(&OTHER_KEY, ACCOUNT, &sealed, "r"),
        Err(StoreError::WrongKey { .. })
    ));
    let seed = plaintext
        .iter()
        .fold(0usize, |acc, &b| acc.wrapping_mul(31).wrapping_add(usize::from(b)));
    let bit = seed % (sealed.len() * 8);
    let mut damaged = sealed;
    damaged[bit / 8] ^= 1 << (bit % 8);
    assert!(
        open_record(&KEY, ACCOUNT, &damaged, "r").is_err(),
        "bit {bit} flipped and still opens"
    );
}
