//! `POST /token`: the `refresh_token` (with rotation, reuse detection and an
//! optional reuse grace period),
//! `client_credentials`, `authorization_code` (PKCE S256) and device code (RFC 8628)
//! grants, and the three response styles. Every request is counted and logged before a queued fault is
//! applied.

use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::authorize::{pkce_s256, valid_pkce_value, DEFAULT_SUBJECT};
use crate::client_auth::presented_client;
use crate::config::{ClientSpec, ResponseStyle};
use crate::connection::ConnHandle;
use crate::device::DEVICE_CODE_GRANT_TYPE;
use crate::form::{require_form_content_type, FormParams};
use crate::oauth_error::{no_store_json, OAuthError};
use crate::scope;
use crate::state::{unix_secs, DeviceStatus, Effective, FixtureState, IssuedToken};

/// `error_description` of the answer to a reused refresh token.
pub const REUSE_DESCRIPTION: &str = "refresh token reuse detected; token family revoked";

/// Largest accepted `refresh_token_ttl` (ten years).
const MAX_REFRESH_TTL_SECS: u64 = 10 * 365 * 86_400;

/// Tokens issued by one successful grant.
struct Grant {
    access: IssuedToken,
    refresh: Option<IssuedToken>,
    scope: String,
}

/// Counts a `/token` request as answered when dropped (also when the
/// client hangs up mid-request).
struct InFlight<'a>(&'a FixtureState);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.recorder().token_request_finished();
    }
}

/// `POST /token`.
pub(crate) async fn token(
    State(state): State<FixtureState>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormParams::parse(&body);
    state.recorder().record_token_request(&headers, &form);
    state.recorder().token_request_started();
    let _in_flight = InFlight(&state);
    let fault = state.next_fault();
    let faulted = match &fault {
        Some(fault) => fault.apply(&conn).await,
        None => None,
    };
    let response =
        faulted.unwrap_or_else(|| handle(&state, &headers, &form).unwrap_or_else(IntoResponse::into_response));
    match fault {
        Some(fault) => fault.pad(response).await,
        None => response,
    }
}

fn handle(state: &FixtureState, headers: &HeaderMap, form: &FormParams) -> Result<Response, OAuthError> {
    require_form_content_type(headers)?;
    form.reject_repeated()?;
    let grant_type = form.require("grant_type")?;
    if !matches!(
        grant_type,
        "refresh_token" | "client_credentials" | "authorization_code" | DEVICE_CODE_GRANT_TYPE
    ) {
        return Err(OAuthError::unsupported_grant_type(format!(
            "unsupported grant_type {grant_type:?}"
        )));
    }
    let client = presented_client(headers, form).authenticate(state)?;
    let settings = state.effective(&client);
    let refresh_ttl = match form.get("refresh_token_ttl") {
        None => settings.refresh_ttl_secs,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|ttl| *ttl <= MAX_REFRESH_TTL_SECS)
            .ok_or_else(|| {
                OAuthError::invalid_request("refresh_token_ttl must be a whole number of seconds up to ten years")
            })?,
    };
    let grant = match grant_type {
        "refresh_token" => refresh_grant(state, &client, &settings, form, refresh_ttl)?,
        "client_credentials" => client_credentials_grant(state, &client, &settings, form)?,
        DEVICE_CODE_GRANT_TYPE => device_code_grant(state, &client, &settings, form, refresh_ttl)?,
        _ => authorization_code_grant(state, &client, &settings, form, refresh_ttl)?,
    };
    Ok(no_store_json(StatusCode::OK, &render(&grant, settings.response_style)))
}

fn refresh_grant(
    state: &FixtureState,
    client: &ClientSpec,
    settings: &Effective,
    form: &FormParams,
    refresh_ttl: u64,
) -> Result<Grant, OAuthError> {
    let presented = form.require("refresh_token")?;
    let requested_scope = form.get("scope").map(scope::normalize).transpose()?;
    let now = SystemTime::now();
    let mut registry = state.registry();
    let Some(current) = registry.refresh.get(presented).cloned() else {
        return Err(OAuthError::invalid_grant("unknown refresh token"));
    };
    let info = &current.info;
    if info.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("refresh token was issued to another client"));
    }
    if info.revoked {
        return Err(OAuthError::invalid_grant("refresh token revoked"));
    }
    if info.is_expired(now) {
        return Err(OAuthError::invalid_grant("refresh token expired"));
    }
    let family = info.family.unwrap_or_default();
    let within_grace = current.used
        && registry.within_reuse_grace(presented, family, settings.refresh_reuse_grace_secs, Instant::now());
    if current.used && !within_grace {
        registry.revoke_family(family);
        drop(registry);
        state.recorder().record_refresh_reuse_detected();
        return Err(OAuthError::invalid_grant(REUSE_DESCRIPTION));
    }
    let access_scope = match requested_scope {
        Some(requested) if !requested.is_empty() => {
            if !scope::is_subset(&requested, &info.scope) {
                return Err(OAuthError::invalid_scope(
                    "requested scope exceeds the scope originally granted",
                ));
            }
            requested
        }
        _ => info.scope.clone(),
    };
    let access = registry.issue_access(
        &client.client_id,
        &info.sub,
        &access_scope,
        settings.access_ttl_secs,
        Some(family),
    );
    let refresh = if settings.rotation {
        // A token answered within its grace period keeps its first rotation
        // time and stays the family's latest rotated token.
        if !within_grace {
            registry.mark_rotated(presented, family);
        }
        Some(registry.issue_refresh(&client.client_id, &info.sub, &info.scope, refresh_ttl, family))
    } else {
        None
    };
    drop(registry);
    if within_grace {
        state.recorder().record_refresh_reuse_within_grace();
    }
    Ok(Grant {
        access,
        refresh,
        scope: access_scope,
    })
}

fn client_credentials_grant(
    state: &FixtureState,
    client: &ClientSpec,
    settings: &Effective,
    form: &FormParams,
) -> Result<Grant, OAuthError> {
    let scope = scope::normalize(form.get("scope").unwrap_or(""))?;
    let access = state.registry().issue_access(
        &client.client_id,
        &client.client_id,
        &scope,
        settings.access_ttl_secs,
        None,
    );
    Ok(Grant {
        access,
        refresh: None,
        scope,
    })
}

fn authorization_code_grant(
    state: &FixtureState,
    client: &ClientSpec,
    settings: &Effective,
    form: &FormParams,
    refresh_ttl: u64,
) -> Result<Grant, OAuthError> {
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?;
    let verifier = form.get("code_verifier");
    let mut registry = state.registry();
    let Some(entry) = registry.codes.get(code).cloned() else {
        return Err(OAuthError::invalid_grant("unknown authorization code"));
    };
    if entry.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "authorization code was issued to another client",
        ));
    }
    if let Some(family) = entry.redeemed {
        registry.revoke_family(family);
        return Err(OAuthError::invalid_grant(
            "authorization code already used; tokens issued with it revoked",
        ));
    }
    if SystemTime::now() >= entry.expires_at {
        return Err(OAuthError::invalid_grant("authorization code expired"));
    }
    if entry.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let Some(verifier) = verifier else {
        return Err(OAuthError::invalid_grant("code_verifier missing"));
    };
    if !valid_pkce_value(verifier) || pkce_s256(verifier) != entry.code_challenge {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let family = registry.new_family();
    if let Some(stored) = registry.codes.get_mut(code) {
        stored.redeemed = Some(family);
    }
    let access = registry.issue_access(
        &client.client_id,
        &entry.sub,
        &entry.scope,
        settings.access_ttl_secs,
        Some(family),
    );
    let refresh = registry.issue_refresh(&client.client_id, &entry.sub, &entry.scope, refresh_ttl, family);
    Ok(Grant {
        access,
        refresh: Some(refresh),
        scope: entry.scope,
    })
}

/// RFC 8628 §3.4–3.5: polling with a device code. Pending, denied and expired codes
/// get `authorization_pending`, `access_denied` and `expired_token`; an approved one
/// issues tokens in a new family once, after which the code is used up
/// (`invalid_grant`, without touching the tokens issued). The server never answers
/// `slow_down` by itself.
fn device_code_grant(
    state: &FixtureState,
    client: &ClientSpec,
    settings: &Effective,
    form: &FormParams,
    refresh_ttl: u64,
) -> Result<Grant, OAuthError> {
    let device_code = form.require("device_code")?;
    let mut registry = state.registry();
    let Some(entry) = registry.device_codes.get(device_code).cloned() else {
        return Err(OAuthError::invalid_grant("unknown device code"));
    };
    if entry.client_id != client.client_id {
        return Err(OAuthError::invalid_grant("device code was issued to another client"));
    }
    let expired = SystemTime::now() >= entry.expires_at;
    let sub = match entry.status {
        DeviceStatus::Redeemed => return Err(OAuthError::invalid_grant("device code already used")),
        _ if expired => return Err(OAuthError::expired_token("device code expired")),
        DeviceStatus::Pending => {
            return Err(OAuthError::authorization_pending(
                "the user has not approved the request yet",
            ))
        }
        DeviceStatus::Denied => return Err(OAuthError::access_denied("the user denied the request")),
        DeviceStatus::Approved { sub } => sub,
    };
    let family = registry.new_family();
    if let Some(stored) = registry.device_codes.get_mut(device_code) {
        stored.status = DeviceStatus::Redeemed;
    }
    let access = registry.issue_access(
        &client.client_id,
        &sub,
        &entry.scope,
        settings.access_ttl_secs,
        Some(family),
    );
    let refresh = registry.issue_refresh(&client.client_id, &sub, &entry.scope, refresh_ttl, family);
    Ok(Grant {
        access,
        refresh: Some(refresh),
        scope: entry.scope,
    })
}

/// A token response for `client_id` as if it had just signed in as
/// `test-user`: a new family with an access and a refresh token, rendered in
/// the client's response style. For tests that need valid tokens without
/// going through `/authorize` and `/token`. `None` for an unknown client.
pub(crate) fn issue_signed_in(state: &FixtureState, client_id: &str) -> Option<Value> {
    let client = state.client(client_id)?;
    let settings = state.effective(&client);
    let mut registry = state.registry();
    let family = registry.new_family();
    let access = registry.issue_access(client_id, DEFAULT_SUBJECT, "", settings.access_ttl_secs, Some(family));
    let refresh = registry.issue_refresh(client_id, DEFAULT_SUBJECT, "", settings.refresh_ttl_secs, family);
    let grant = Grant {
        access,
        refresh: Some(refresh),
        scope: String::new(),
    };
    Some(render(&grant, settings.response_style))
}

/// The JSON body of a successful response in the client's style. `scope` is left
/// out when empty; refresh fields are left out when no refresh token was issued.
fn render(grant: &Grant, style: ResponseStyle) -> Value {
    let mut body = Map::new();
    match style {
        ResponseStyle::Standard | ResponseStyle::StringExpiresIn => {
            body.insert("access_token".into(), json!(grant.access.value));
            body.insert("token_type".into(), json!("Bearer"));
            let expires_in = if style == ResponseStyle::Standard {
                json!(grant.access.ttl_secs)
            } else {
                json!(grant.access.ttl_secs.to_string())
            };
            body.insert("expires_in".into(), expires_in);
            if let Some(refresh) = &grant.refresh {
                body.insert("refresh_token".into(), json!(refresh.value));
                body.insert("refresh_token_expires_in".into(), json!(refresh.ttl_secs));
            }
            if !grant.scope.is_empty() {
                body.insert("scope".into(), json!(grant.scope));
            }
        }
        ResponseStyle::CamelCase => {
            body.insert("accessToken".into(), json!(grant.access.value));
            body.insert("accessTokenExpiredAt".into(), json!(unix_secs(grant.access.expires_at)));
            body.insert("tokenType".into(), json!("Bearer"));
            if let Some(refresh) = &grant.refresh {
                body.insert("refreshToken".into(), json!(refresh.value));
                body.insert("refreshTokenExpiredAt".into(), json!(unix_secs(refresh.expires_at)));
            }
            if !grant.scope.is_empty() {
                body.insert("scope".into(), json!(grant.scope));
            }
        }
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn grant(refresh: bool) -> Grant {
        let t = UNIX_EPOCH + Duration::from_secs(1_000);
        Grant {
            access: IssuedToken {
                value: "at_x".into(),
                ttl_secs: 60,
                expires_at: t,
            },
            refresh: refresh.then(|| IssuedToken {
                value: "rt_y".into(),
                ttl_secs: 120,
                expires_at: t + Duration::from_secs(60),
            }),
            scope: "read".into(),
        }
    }

    #[test]
    fn standard_and_string_styles() {
        let v = render(&grant(true), ResponseStyle::Standard);
        assert_eq!(v["expires_in"], json!(60));
        assert_eq!(v["refresh_token"], json!("rt_y"));
        assert_eq!(v["refresh_token_expires_in"], json!(120));
        assert_eq!(v["token_type"], json!("Bearer"));
        let v = render(&grant(false), ResponseStyle::StringExpiresIn);
        assert_eq!(v["expires_in"], json!("60"));
        assert!(v.get("refresh_token").is_none());
        assert!(v.get("refresh_token_expires_in").is_none());
    }

    #[test]
    fn camel_case_style_uses_absolute_times() {
        let v = render(&grant(true), ResponseStyle::CamelCase);
        assert_eq!(v["accessToken"], json!("at_x"));
        assert_eq!(v["accessTokenExpiredAt"], json!(1_000));
        assert_eq!(v["refreshTokenExpiredAt"], json!(1_060));
        assert_eq!(v["tokenType"], json!("Bearer"));
        assert_eq!(v["scope"], json!("read"));
        assert!(v.get("access_token").is_none());
    }
}
