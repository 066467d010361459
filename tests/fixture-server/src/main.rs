//! `tokenkeep-fixture-server` binary: runs the fixture authorization server for the
//! test suites of other languages. Prints exactly one line,
//! `listening on http://127.0.0.1:PORT`, to stdout, then serves until SIGINT/SIGTERM
//! or until stdin reaches end-of-file (unless `--no-stdin-watch`).

use std::io::{self, Read as _, Write as _};
use std::net::Ipv4Addr;
use std::process::ExitCode;

use clap::Parser;
use tokenkeep_fixture_server::{
    serve_with_state, ClientSpec, FaultSpec, FixtureState, ResponseStyle, ServerConfig, DEFAULT_ACCESS_TTL_SECS,
    DEFAULT_DEVICE_CODE_TTL_SECS, DEFAULT_DEVICE_INTERVAL_SECS, DEFAULT_REFRESH_TTL_SECS,
};
use tokio::sync::oneshot;

/// In-memory OAuth 2.0 authorization server for the tokenkeep tests.
#[derive(Debug, Parser)]
#[command(name = "tokenkeep-fixture-server", version)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Global access-token lifetime.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_ACCESS_TTL_SECS)]
    access_ttl: u64,
    /// Global refresh-token lifetime.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_REFRESH_TTL_SECS)]
    refresh_ttl: u64,
    /// Polling interval announced by /device_authorization (never enforced).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_DEVICE_INTERVAL_SECS)]
    device_interval: u64,
    /// Lifetime of device and user codes.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_DEVICE_CODE_TTL_SECS)]
    device_code_ttl: u64,
    /// Disable refresh-token rotation: refresh responses omit refresh_token.
    #[arg(long)]
    no_rotation: bool,
    /// Refresh-token reuse grace period: the refresh token a family rotated most
    /// recently is answered again for this long after its rotation (0: off).
    #[arg(long, value_name = "N", default_value_t = 0)]
    refresh_reuse_grace_secs: u64,
    /// Revoking a refresh token leaves the access tokens of its family active
    /// (as RFC 7009 allows and some servers do).
    #[arg(long)]
    refresh_revocation_keeps_access: bool,
    /// Add (or replace) a client using the global settings; repeatable.
    #[arg(long = "client", value_name = "ID[:SECRET]")]
    clients: Vec<String>,
    /// Response style of the clients added with --client.
    #[arg(long, value_name = "STYLE", default_value = "standard", value_parser = parse_style)]
    response_style: ResponseStyle,
    /// Fail the first N token requests (needs --fail-status).
    #[arg(long, value_name = "N", requires = "fail_status")]
    fail_next: Option<u32>,
    /// Status of the failed token requests (needs --fail-next).
    #[arg(long, value_name = "CODE", requires = "fail_next")]
    fail_status: Option<u16>,
    /// Retry-After seconds sent with the failed token requests.
    #[arg(long, value_name = "SECS", requires = "fail_status")]
    fail_retry_after: Option<u64>,
    /// Keep running when stdin reaches end-of-file (for starting it from a shell).
    #[arg(long)]
    no_stdin_watch: bool,
}

fn parse_style(s: &str) -> Result<ResponseStyle, String> {
    s.parse()
}

/// `ID` or `ID:SECRET` → a client with the global settings.
fn parse_client(arg: &str, style: ResponseStyle) -> Result<ClientSpec, String> {
    let (id, secret) = match arg.split_once(':') {
        Some((id, secret)) => (id, Some(secret).filter(|s| !s.is_empty())),
        None => (arg, None),
    };
    if id.is_empty() {
        return Err(format!("--client {arg:?}: the client id is empty"));
    }
    Ok(ClientSpec {
        client_id: id.to_owned(),
        client_secret: secret.map(str::to_owned),
        response_style: style,
        ..ClientSpec::default()
    })
}

fn build_state(args: &Args) -> Result<(ServerConfig, FixtureState), String> {
    let mut config = ServerConfig {
        port: args.port,
        access_ttl_secs: args.access_ttl,
        refresh_ttl_secs: args.refresh_ttl,
        rotation: !args.no_rotation,
        refresh_reuse_grace_secs: args.refresh_reuse_grace_secs,
        refresh_revocation_keeps_access: args.refresh_revocation_keeps_access,
        device_interval_secs: args.device_interval,
        device_code_ttl_secs: args.device_code_ttl,
        ..ServerConfig::default()
    };
    for arg in &args.clients {
        let client = parse_client(arg, args.response_style)?;
        config.clients.retain(|c| c.client_id != client.client_id);
        config.clients.push(client);
    }
    let state = FixtureState::new(&config);
    if let (Some(count), Some(status)) = (args.fail_next, args.fail_status) {
        let mut fault = FaultSpec::with_status(status).times(count);
        fault.retry_after = args.fail_retry_after;
        state
            .queue_fault(fault)
            .map_err(|e| format!("--fail-next/--fail-status: {e}"))?;
    }
    Ok((config, state))
}

/// Completes on SIGINT, SIGTERM (Unix), or when `stdin_eof` fires.
async fn shutdown_signal(stdin_eof: Option<oneshot::Receiver<()>>) {
    let stdin = async {
        match stdin_eof {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending().await,
        }
    };
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = stdin => {}
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Reads stdin to its end on a plain thread (a read error counts as the end).
fn watch_stdin() -> io::Result<oneshot::Receiver<()>> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new().name("stdin-watch".into()).spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = [0u8; 1024];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    })?;
    Ok(rx)
}

async fn run(args: Args) -> Result<(), String> {
    let (config, state) = build_state(&args)?;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", config.port))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let stdin_eof = if args.no_stdin_watch {
        None
    } else {
        Some(watch_stdin().map_err(|e| format!("cannot watch stdin: {e}"))?)
    };
    {
        let mut stdout = io::stdout().lock();
        // Nothing else is ever written to stdout. If nobody reads it, serve anyway.
        let _ = writeln!(stdout, "listening on http://127.0.0.1:{port}");
        let _ = stdout.flush();
    }
    serve_with_state(state, listener, shutdown_signal(stdin_eof))
        .await
        .map_err(|e| format!("server error: {e}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tokenkeep-fixture-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tokenkeep-fixture-server: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_flags() {
        let c = parse_client("svc:s3cret", ResponseStyle::CamelCase).expect("valid");
        assert_eq!(c.client_id, "svc");
        assert_eq!(c.client_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.response_style, ResponseStyle::CamelCase);
        let c = parse_client("app", ResponseStyle::Standard).expect("valid");
        assert_eq!(c.client_secret, None);
        assert!(parse_client(":x", ResponseStyle::Standard).is_err());
    }

    #[test]
    fn device_flags() {
        let args = Args::try_parse_from(["x"]).expect("no flags");
        let (config, _) = build_state(&args).expect("valid config");
        assert_eq!((config.device_interval_secs, config.device_code_ttl_secs), (1, 600));
        let args =
            Args::try_parse_from(["x", "--device-interval", "5", "--device-code-ttl", "30"]).expect("valid flags");
        let (config, _) = build_state(&args).expect("valid config");
        assert_eq!((config.device_interval_secs, config.device_code_ttl_secs), (5, 30));
    }

    #[test]
    fn reuse_grace_flag() {
        let args = Args::try_parse_from(["x"]).expect("no flags");
        assert_eq!(build_state(&args).expect("valid config").0.refresh_reuse_grace_secs, 0);
        let args = Args::try_parse_from(["x", "--refresh-reuse-grace-secs", "30"]).expect("valid flag");
        assert_eq!(build_state(&args).expect("valid config").0.refresh_reuse_grace_secs, 30);
        assert!(Args::try_parse_from(["x", "--refresh-reuse-grace-secs", "-1"]).is_err());
    }

    #[test]
    fn fault_flags_need_each_other() {
        assert!(Args::try_parse_from(["x", "--fail-next", "2"]).is_err());
        assert!(Args::try_parse_from(["x", "--fail-status", "503"]).is_err());
        let args = Args::try_parse_from([
            "x",
            "--fail-next",
            "2",
            "--fail-status",
            "503",
            "--fail-retry-after",
            "1",
            "--client",
            "a",
            "--client",
            "b:c",
            "--response-style",
            "string-expires-in",
        ])
        .expect("valid flags");
        let (config, state) = build_state(&args).expect("valid config");
        assert_eq!(config.clients.len(), 6);
        let faults = state.pending_faults();
        assert_eq!(faults.len(), 1);
        assert_eq!(
            (faults[0].count, faults[0].status, faults[0].retry_after),
            (2, Some(503), Some(1))
        );
        assert_eq!(
            state.client("b").map(|c| c.response_style),
            Some(ResponseStyle::StringExpiresIn)
        );
    }
}
