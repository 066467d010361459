//! Which characters a token may hold.
//!
//! tokenkeep puts the access token in an `Authorization: Bearer` header and
//! the refresh token in a form body. A token with a control character or a
//! line break would make the HTTP library (tokenkeep's, or the app's own
//! `requests`, OkHttp, URLSession) fail with an error that quotes the whole
//! header, token included, or worse, inject a header. So tokens are checked
//! where they enter, in token endpoint answers and in `set_tokens`:
//!
//! * access token: RFC 6750 §2.1 `b64token`,
//!   `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`;
//! * refresh token: RFC 6749 Appendix A, `1*VSCHAR` (printable ASCII,
//!   `%x20-7E`, space included);
//! * ID token: a JWT (OpenID Connect Core §2), whose compact serialization
//!   (base64url parts joined by `.`) is a `b64token` too. Anything else is
//!   not an ID token any client could verify, and apps pass it on (as
//!   `id_token_hint` in a logout URL), so it is refused like an access token.
//!
//! A token that breaks its rule is an [`Error::MalformedResponse`] (a
//! `BadResponse` error) that names the field and never shows the value.
//! Tokens already in a store were checked when they were received (by this
//! version) and are not checked again.

use crate::error::Error;

/// The syntax rule a token must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSyntax {
    /// RFC 6750 §2.1 `b64token`: access tokens and ID tokens.
    B64Token,
    /// RFC 6749 Appendix A `1*VSCHAR`: refresh tokens.
    VsChar,
}

impl TokenSyntax {
    /// Whether `value` follows this rule.
    pub(crate) fn allows(self, value: &str) -> bool {
        match self {
            TokenSyntax::B64Token => {
                let body = value.trim_end_matches('=');
                !body.is_empty()
                    && body
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
            }
            TokenSyntax::VsChar => !value.is_empty() && value.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        }
    }

    /// `Ok` when `value` follows this rule; otherwise a `BadResponse` error
    /// saying that `what` (a field name, never the value) breaks it.
    pub(crate) fn check(self, value: &str, what: &str) -> Result<(), Error> {
        if self.allows(value) {
            return Ok(());
        }
        let rule = match self {
            TokenSyntax::B64Token => "RFC 6750 §2.1 b64token: letters, digits and `-._~+/`, then optional `=` padding",
            TokenSyntax::VsChar => "RFC 6749 Appendix A: printable ASCII, %x20-7E",
        };
        Err(Error::MalformedResponse {
            detail: format!(
                "{what} is empty or has characters a token may not hold ({rule}); it was refused, and its value is not shown"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_follows_rfc_6750() {
        for ok in [
            "a",
            "A.b-c_d~e+f/9",
            "abc==",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        ] {
            assert!(TokenSyntax::B64Token.allows(ok), "{ok}");
        }
        for bad in ["", "==", "a=b", "a b", "a\u{1}", "a\r\nb", "é", "a,b", "a\"b"] {
            assert!(!TokenSyntax::B64Token.allows(bad), "{bad:?}");
        }
    }

    #[test]
    fn vschar_follows_rfc_6749() {
        for ok in ["a", "with space ~!\"#", "a=b,c"] {
            assert!(TokenSyntax::VsChar.allows(ok), "{ok}");
        }
        for bad in ["", "a\u{0}", "a\n", "a\u{7f}", "é", "a\tb"] {
            assert!(!TokenSyntax::VsChar.allows(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_field_not_the_value() {
        let e = TokenSyntax::VsChar
            .check("rt-s3cret\n", "`refresh_token`")
            .expect_err("refused");
        assert!(matches!(e, Error::MalformedResponse { .. }));
        assert!(e.to_string().contains("`refresh_token`"), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
