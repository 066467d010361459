//! The scenarios of `tests/e2e/scenarios.json`, written against the Rust
//! API. Each returns `Ok(())` or why it failed.

use std::time::Duration;

use tokenkeep::{SessionState, TokenKeepError};

use crate::server::E2eServer;

/// Runs the scenario `id`; an id without an implementation is a failure.
pub async fn run(id: &str, server: &E2eServer) -> Result<(), String> {
    match id {
        "sign_in_pkce" => sign_in_pkce(server).await,
        "refresh_on_expiry" => refresh_on_expiry(server).await,
        "rotation" => rotation(server).await,
        "single_flight" => single_flight(server).await,
        "reuse_ends_session" => reuse_ends_session(server).await,
        "logout_revokes" => logout_revokes(server).await,
        "client_credentials_renewal" => client_credentials_renewal(server).await,
        "device_flow" => device_flow(server).await,
        other => Err(format!("scenario `{other}` is not implemented in Rust")),
    }
}

fn check(condition: bool, what: &str) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(what.to_owned())
    }
}

async fn sign_in_pkce(server: &E2eServer) -> Result<(), String> {
    let keeper = server.user_keeper()?;
    server.sign_in(&keeper).await?;
    let tokens = keeper.tokens().ok_or("no tokens after sign-in")?;
    check(tokens.has_refresh_token(), "no refresh token")?;
    check(keeper.state() == SessionState::Valid, "state is not Valid")
}

async fn refresh_on_expiry(server: &E2eServer) -> Result<(), String> {
    let keeper = server.user_keeper()?;
    server.sign_in(&keeper).await?;
    let first = keeper.access_token().await.map_err(|e| e.to_string())?;
    let before = server.grants("refresh_token").await?;
    tokio::time::sleep(server.past_expiry()).await;
    let second = keeper.access_token().await.map_err(|e| e.to_string())?;
    check(first != second, "the token did not change after expiry")?;
    check(
        server.grants("refresh_token").await? == before + 1,
        "not exactly one refresh",
    )
}

async fn rotation(server: &E2eServer) -> Result<(), String> {
    let keeper = server.user_keeper()?;
    server.sign_in(&keeper).await?;
    let old = keeper
        .tokens()
        .and_then(|t| t.refresh_token())
        .ok_or("no refresh token")?;
    let new = keeper
        .refresh()
        .await
        .map_err(|e| e.to_string())?
        .refresh_token()
        .ok_or("no new refresh token")?;
    check(old != new, "the refresh token did not rotate")?;
    check(!server.is_active(&old).await?, "the old refresh token is still active")?;
    check(server.is_active(&new).await?, "the new refresh token is not active")
}

async fn single_flight(server: &E2eServer) -> Result<(), String> {
    let keeper = server.user_keeper()?;
    server.sign_in(&keeper).await?;
    tokio::time::sleep(server.past_expiry()).await;
    let before = server.grants("refresh_token").await?;
    let callers = server.setting("concurrent_callers").as_u64().unwrap_or(50) as usize;
    let tasks: Vec<_> = (0..callers)
        .map(|_| {
            let keeper = keeper.clone();
            tokio::spawn(async move { keeper.access_token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?);
    }
    check(tokens.windows(2).all(|w| w[0] == w[1]), "callers got different tokens")?;
    let refreshes = server.grants("refresh_token").await? - before;
    check(refreshes == 1, &format!("{refreshes} refreshes for {callers} callers"))
}

async fn reuse_ends_session(server: &E2eServer) -> Result<(), String> {
    let a = server.user_keeper()?;
    server.sign_in(&a).await?;
    let tokens = a.tokens().ok_or("no tokens")?;
    let b = server.user_keeper()?;
    b.set_tokens(tokens.access_token(), tokens.refresh_token(), Some(3), None, None)
        .map_err(|e| e.to_string())?;
    a.refresh().await.map_err(|e| e.to_string())?;
    match b.refresh().await {
        Err(TokenKeepError::SessionExpired { .. }) => {}
        other => return Err(format!("expected SessionExpired, got {other:?}")),
    }
    check(
        b.state() == SessionState::SessionExpired,
        "B's state is not SessionExpired",
    )
}

async fn logout_revokes(server: &E2eServer) -> Result<(), String> {
    let keeper = server.user_keeper()?;
    server.sign_in(&keeper).await?;
    let refresh_token = keeper
        .tokens()
        .and_then(|t| t.refresh_token())
        .ok_or("no refresh token")?;
    check(
        keeper.logout().await.map_err(|e| e.to_string())?.fully_revoked,
        "the server did not confirm both revocations",
    )?;
    check(
        !server.is_active(&refresh_token).await?,
        "the refresh token is still active",
    )?;
    match keeper.access_token().await {
        Err(TokenKeepError::NotSignedIn { .. }) => Ok(()),
        other => Err(format!("expected NotSignedIn, got {other:?}")),
    }
}

async fn client_credentials_renewal(server: &E2eServer) -> Result<(), String> {
    let keeper = server.m2m_keeper()?;
    let before = server.grants("client_credentials").await?;
    let first = keeper.access_token().await.map_err(|e| e.to_string())?;
    tokio::time::sleep(server.past_expiry()).await;
    let second = keeper.access_token().await.map_err(|e| e.to_string())?;
    check(first != second, "the token was not renewed")?;
    let grants = server.grants("client_credentials").await? - before;
    check(grants == 2, &format!("{grants} client_credentials grants, expected 2"))
}

async fn device_flow(server: &E2eServer) -> Result<(), String> {
    let keeper = server.user_keeper()?;
    let device = keeper.start_device_authorization().await.map_err(|e| e.to_string())?;
    let user_code = device.user_code();
    let approve = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.approve_device(&user_code).await
    };
    let (approved, tokens) = futures::join!(approve, keeper.complete_device_authorization(device));
    approved?;
    let tokens = tokens.map_err(|e| e.to_string())?;
    check(tokens.has_refresh_token(), "no refresh token")?;
    check(keeper.state() == SessionState::Valid, "state is not Valid")
}
