//! Reading a token endpoint's successful answer (RFC 6749 §5.1).
//!
//! The standard answer is a JSON object with `access_token` (REQUIRED),
//! `token_type` (REQUIRED, tokenkeep accepts only `Bearer`, case-insensitive,
//! and assumes it when a server omits it), `expires_in` (RECOMMENDED; a
//! number, or a numeric string as several servers send), `refresh_token`
//! (OPTIONAL) and `scope` (OPTIONAL). Widespread extensions are read too:
//! `refresh_token_expires_in` / `refresh_expires_in` and `id_token` (OpenID
//! Connect). Every other field is kept as an extra field.
//!
//! APIs that answer in their own shape (`{"accessToken": …, "refreshToken": …,
//! "accessTokenExpiredAt": 1759753535}`) are read through a
//! [`ResponseMapping`]. An absolute expiry is turned into a lifetime against
//! the answer's `Date` header when there is one, so a device whose wall clock
//! is off still computes the right expiry.
//!
//! Tokens must have the characters their RFCs allow (see
//! [`crate::token_syntax`]): an access or ID token outside RFC 6750's
//! `b64token`, or a refresh token outside RFC 6749's `VSCHAR`, makes the
//! answer unusable.
//!
//! A body that cannot be used is a typed error whose message says what is
//! wrong and never quotes the body (it may hold a token): it names fields,
//! never their values.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::secret::Secret;
use crate::token_set::{TokenSet, TokenSetParts};
use crate::token_syntax::TokenSyntax;

/// Field names of a token endpoint's answer, for servers that do not use the
/// RFC 6749 names. The defaults are the standard names.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct ResponseMapping {
    /// Field holding the access token. Default `access_token`.
    #[uniffi(default = "access_token")]
    pub access_token: String,
    /// Field holding the refresh token. Default `refresh_token`.
    #[uniffi(default = "refresh_token")]
    pub refresh_token: String,
    /// Field holding the token type. Default `token_type`.
    #[uniffi(default = "token_type")]
    pub token_type: String,
    /// Field holding the lifetime in seconds. Default `expires_in`.
    #[uniffi(default = "expires_in")]
    pub expires_in: String,
    /// Field holding an absolute expiry (Unix seconds, or milliseconds when
    /// larger than 10^11), used when `expires_in` is absent.
    #[uniffi(default = None)]
    pub expires_at: Option<String>,
    /// Field holding the refresh token's lifetime in seconds; when unset,
    /// `refresh_token_expires_in` and `refresh_expires_in` are read.
    #[uniffi(default = None)]
    pub refresh_token_expires_in: Option<String>,
    /// Field holding the refresh token's absolute expiry.
    #[uniffi(default = None)]
    pub refresh_token_expires_at: Option<String>,
    /// Field holding the scope. Default `scope`.
    #[uniffi(default = "scope")]
    pub scope: String,
    /// Field holding the OpenID Connect ID token. Default `id_token`.
    #[uniffi(default = "id_token")]
    pub id_token: String,
}

impl Default for ResponseMapping {
    fn default() -> Self {
        ResponseMapping {
            access_token: "access_token".into(),
            refresh_token: "refresh_token".into(),
            token_type: "token_type".into(),
            expires_in: "expires_in".into(),
            expires_at: None,
            refresh_token_expires_in: None,
            refresh_token_expires_at: None,
            scope: "scope".into(),
            id_token: "id_token".into(),
        }
    }
}

impl ResponseMapping {
    /// The camelCase shape several vendor APIs use: `accessToken`,
    /// `refreshToken`, `tokenType`, `expiresIn`, and absolute expiries in
    /// `accessTokenExpiredAt` / `refreshTokenExpiredAt`.
    pub fn camel_case() -> Self {
        ResponseMapping {
            access_token: "accessToken".into(),
            refresh_token: "refreshToken".into(),
            token_type: "tokenType".into(),
            expires_in: "expiresIn".into(),
            expires_at: Some("accessTokenExpiredAt".into()),
            refresh_token_expires_in: Some("refreshTokenExpiresIn".into()),
            refresh_token_expires_at: Some("refreshTokenExpiredAt".into()),
            scope: "scope".into(),
            id_token: "idToken".into(),
        }
    }
}

/// The camelCase response mapping (see [`ResponseMapping::camel_case`]).
#[uniffi::export]
pub fn camel_case_response_mapping() -> ResponseMapping {
    ResponseMapping::camel_case()
}

const STANDARD_REFRESH_EXPIRY_FIELDS: [&str; 2] = ["refresh_token_expires_in", "refresh_expires_in"];

/// Parses a successful token endpoint answer received at `received_at_ms`
/// (session clock). `server_date_ms` is the answer's `Date` header, if any.
pub(crate) fn parse_token_response(
    body: &[u8],
    mapping: &ResponseMapping,
    received_at_ms: i64,
    server_date_ms: Option<i64>,
) -> Result<TokenSet, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Error::MalformedResponse {
        detail: format!(
            "the token endpoint's answer is not valid JSON ({} bytes; {} at line {} column {})",
            body.len(),
            describe_json_error(&e),
            e.line(),
            e.column()
        ),
    })?;
    let Value::Object(mut fields) = value else {
        return Err(malformed("the token endpoint's answer is JSON but not an object"));
    };

    let access_token = match fields.remove(&mapping.access_token) {
        Some(Value::String(s)) if !s.is_empty() => checked(s, TokenSyntax::B64Token, &mapping.access_token)?,
        Some(_) => {
            return Err(malformed(&format!(
                "`{}` is not a non-empty string",
                mapping.access_token
            )))
        }
        None => {
            return Err(malformed(&format!(
                "the answer has no `{}` field (fields present: {})",
                mapping.access_token,
                field_names(&fields)
            )))
        }
    };

    let token_type = match fields.remove(&mapping.token_type) {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => Some("Bearer".to_owned()),
        Some(Value::String(_)) => {
            return Err(malformed(&format!(
                "`{}` is not `Bearer` (the value is not shown); tokenkeep sends only Bearer tokens (RFC 6750)",
                mapping.token_type
            )))
        }
        Some(_) => return Err(malformed(&format!("`{}` is not a string", mapping.token_type))),
    };

    let reference_ms = server_date_ms.unwrap_or(received_at_ms);
    let expires_in_ms = match seconds_field(&mut fields, &mapping.expires_in)? {
        Some(ms) => Some(ms),
        None => match &mapping.expires_at {
            // An expiry already past is a lifetime of 1 ms (expired), not 0
            // (which reads as "no stated expiry", see token_set.rs).
            Some(name) => absolute_field(&mut fields, name)?.map(|at| at.saturating_sub(reference_ms).max(1)),
            None => None,
        },
    };

    let refresh_token = match fields.remove(&mapping.refresh_token) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(checked(s, TokenSyntax::VsChar, &mapping.refresh_token)?),
        Some(_) => return Err(malformed(&format!("`{}` is not a string", mapping.refresh_token))),
    };

    let mut refresh_token_expires_in_ms = None;
    match &mapping.refresh_token_expires_in {
        Some(name) => refresh_token_expires_in_ms = seconds_field(&mut fields, name)?,
        None => {
            for name in STANDARD_REFRESH_EXPIRY_FIELDS {
                if let Some(ms) = seconds_field(&mut fields, name)? {
                    refresh_token_expires_in_ms.get_or_insert(ms);
                }
            }
        }
    }
    if refresh_token_expires_in_ms.is_none() {
        if let Some(name) = &mapping.refresh_token_expires_at {
            refresh_token_expires_in_ms =
                absolute_field(&mut fields, name)?.map(|at| at.saturating_sub(reference_ms).max(0));
        }
    }

    let scope = match fields.remove(&mapping.scope) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
        Some(_) => return Err(malformed(&format!("`{}` is not a string", mapping.scope))),
    };

    let id_token = match fields.remove(&mapping.id_token) {
        Some(Value::String(s)) if !s.is_empty() => Some(checked(s, TokenSyntax::B64Token, &mapping.id_token)?),
        _ => None,
    };

    let parts = TokenSetParts {
        refresh_token,
        token_type,
        expires_in_ms,
        refresh_token_expires_in_ms,
        scope,
        id_token,
        extra: fields,
    };
    Ok(TokenSet::from_parts(access_token, parts, received_at_ms))
}

/// `value` of the field `name` as a secret, if it follows `syntax`.
fn checked(value: String, syntax: TokenSyntax, name: &str) -> Result<Secret, Error> {
    let secret = Secret::new(value);
    syntax
        .check(secret.expose(), &format!("`{name}`"))
        .map_err(|e| match e {
            Error::MalformedResponse { detail } => malformed(&detail),
            other => other,
        })?;
    Ok(secret)
}

fn malformed(detail: &str) -> Error {
    Error::MalformedResponse {
        detail: format!("the token endpoint's answer is unusable: {detail}"),
    }
}

fn field_names(fields: &Map<String, Value>) -> String {
    if fields.is_empty() {
        return "none".to_owned();
    }
    fields.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

fn describe_json_error(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    }
}

/// Reads a lifetime in seconds (number or numeric string) as milliseconds.
fn seconds_field(fields: &mut Map<String, Value>, name: &str) -> Result<Option<i64>, Error> {
    let Some(value) = fields.remove(name) else {
        return Ok(None);
    };
    let secs = match &value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some((s * 1000.0).min(i64::MAX as f64 / 2.0) as i64)),
        _ => Err(malformed(&format!("`{name}` must be a non-negative number of seconds"))),
    }
}

/// Reads an absolute time (Unix seconds, or milliseconds above 10^11) as
/// Unix milliseconds.
fn absolute_field(fields: &mut Map<String, Value>, name: &str) -> Result<Option<i64>, Error> {
    let Some(value) = fields.remove(name) else {
        return Ok(None);
    };
    let raw = match &value {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match raw {
        Some(t) if t.is_finite() && t > 0.0 => {
            let ms = if t > 1e11 { t } else { t * 1000.0 };
            Ok(Some(ms.min(i64::MAX as f64 / 2.0) as i64))
        }
        _ => Err(malformed(&format!(
            "`{name}` must be a Unix time in seconds or milliseconds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TokenSet, Error> {
        parse_token_response(json.as_bytes(), &ResponseMapping::default(), 1_000_000, None)
    }

    #[test]
    fn standard_answer() {
        let t = parse(r#"{"access_token":"at","token_type":"bearer","expires_in":3600,"refresh_token":"rt","scope":"a b","refresh_token_expires_in":86400,"user_id":"u1"}"#)
            .expect("parses");
        assert_eq!(t.access_token(), "at");
        assert_eq!(t.token_type(), "Bearer");
        assert_eq!(t.expires_at_unix_ms(), Some(1_000_000 + 3_600_000));
        assert_eq!(t.refresh_token_expires_at_unix_ms(), Some(1_000_000 + 86_400_000));
        assert_eq!(t.scopes(), vec!["a", "b"]);
        assert_eq!(t.extra().get("user_id"), Some(&serde_json::json!("u1")));
    }

    #[test]
    fn expires_in_as_string_and_refresh_expires_in_alias() {
        let t = parse(r#"{"access_token":"at","token_type":"Bearer","expires_in":"300","refresh_expires_in":"1800"}"#)
            .expect("parses");
        assert_eq!(t.expires_at_unix_ms(), Some(1_300_000));
        assert_eq!(t.refresh_token_expires_at_unix_ms(), Some(2_800_000));
    }

    /// Issue 10, case 4: `"refresh_token": null` is the same as no field.
    #[test]
    fn a_null_refresh_token_is_no_refresh_token() {
        let t = parse(r#"{"access_token":"at","token_type":"Bearer","expires_in":60,"refresh_token":null}"#)
            .expect("parses");
        assert!(!t.has_refresh_token());
        let previous =
            parse(r#"{"access_token":"at0","refresh_token":"rt0","refresh_token_expires_in":600}"#).expect("parses");
        let kept = t.inherit_from(&previous);
        assert_eq!(kept.refresh_token().as_deref(), Some("rt0"));
        assert_eq!(kept.refresh_token_expires_at_unix_ms(), Some(1_000_000 + 600_000));
    }

    #[test]
    fn missing_expires_in_means_unknown_expiry() {
        let t = parse(r#"{"access_token":"at","token_type":"Bearer"}"#).expect("parses");
        assert_eq!(t.expires_at_unix_ms(), None);
        assert!(!t.has_refresh_token());
    }

    #[test]
    fn camel_case_with_absolute_expiry_uses_the_server_date() {
        let body = r#"{"accessToken":"at","refreshToken":"rt","accessTokenExpiredAt":1759753535,"refreshTokenExpiredAt":1760358335}"#;
        // The server's Date is 1759749935 (one hour before expiry); our clock is elsewhere.
        let t = parse_token_response(
            body.as_bytes(),
            &ResponseMapping::camel_case(),
            42_000,
            Some(1_759_749_935_000),
        )
        .expect("parses");
        assert_eq!(t.access_token(), "at");
        assert_eq!(t.refresh_token().as_deref(), Some("rt"));
        assert_eq!(t.expires_at_unix_ms(), Some(42_000 + 3_600_000));
        assert_eq!(
            t.refresh_token_expires_at_unix_ms(),
            Some(42_000 + 3_600_000 + 604_800_000)
        );
    }

    #[test]
    fn unusable_answers_are_typed_errors_that_quote_no_token() {
        for body in [
            r#"{"access_token": "at_SECRET"#,
            r#"["at_SECRET"]"#,
            r#"{"token":"at_SECRET"}"#,
            r#"{"access_token":"at_SECRET","token_type":"mac"}"#,
            r#"{"access_token":"at_SECRET","expires_in":"soon"}"#,
            r#"{"access_token":"at_SECRET","expires_in":-5}"#,
            "{\"access_token\":\"at_SECRET\\u0001\"}",
            "{\"access_token\":\"at\",\"refresh_token\":\"rt_SECRET\\n\"}",
            "{\"access_token\":\"at\",\"id_token\":\"at_SECRET \"}",
            "",
        ] {
            let err = parse(body).expect_err(body);
            assert!(matches!(err, Error::MalformedResponse { .. }), "{body}: {err:?}");
            assert!(!err.to_string().contains("at_SECRET"), "{err}");
        }
    }
}

display_as_debug!(ResponseMapping);
