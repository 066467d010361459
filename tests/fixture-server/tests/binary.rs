//! Runs the `tokenkeep-fixture-server` binary the way other languages' test suites
//! do: read the one `listening on` line, talk to it, and check that it exits when
//! its stdin closes (or on SIGTERM).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_tokenkeep-fixture-server");

/// Starts the binary and returns it with the base URL from its one stdout line.
fn launch(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("one line");
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(!base.ends_with(":0"));
    (child, base)
}

/// Waits up to 10 s for the child to exit.
fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn exits_when_stdin_closes() {
    let (mut child, base) = launch(&["--port", "0"]);
    let stats: serde_json::Value = reqwest::get(format!("{base}/stats"))
        .await
        .expect("stats request")
        .json()
        .await
        .expect("stats JSON");
    assert_eq!(stats["token_requests"]["total"], 0);
    drop(child.stdin.take());
    assert!(wait_for_exit(&mut child).success());
}

#[tokio::test]
async fn startup_fault_and_extra_client() {
    let (mut child, base) = launch(&[
        "--port",
        "0",
        "--fail-next",
        "1",
        "--fail-status",
        "503",
        "--fail-retry-after",
        "3",
        "--client",
        "extra:extra-secret",
        "--response-style",
        "string-expires-in",
        "--access-ttl",
        "120",
        "--no-rotation",
    ]);
    let http = reqwest::Client::new();
    let token = || {
        http.post(format!("{base}/token"))
            .basic_auth("extra", Some("extra-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let first = token().await.expect("request");
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(first.headers()["retry-after"], "3");
    let second: serde_json::Value = token().await.expect("request").json().await.expect("JSON");
    assert_eq!(second["expires_in"], "120");
    drop(child.stdin.take());
    assert!(wait_for_exit(&mut child).success());
}

#[tokio::test]
async fn device_flags() {
    let (mut child, base) = launch(&["--device-interval", "7", "--device-code-ttl", "42"]);
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/device_authorization"))
        .form(&[("client_id", "public-app")])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["interval"], 7);
    assert_eq!(body["expires_in"], 42);
    assert_eq!(body["verification_uri"], format!("{base}/device"));
    drop(child.stdin.take());
    assert!(wait_for_exit(&mut child).success());
}

#[cfg(unix)]
#[test]
fn exits_on_sigterm_when_not_watching_stdin() {
    let (mut child, _base) = launch(&["--no-stdin-watch"]);
    drop(child.stdin.take());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "stdin EOF must be ignored"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert!(wait_for_exit(&mut child).success());
}

#[test]
fn rejects_bad_flags() {
    let output = Command::new(BIN)
        .args(["--response-style", "shouty"])
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn refresh_reuse_grace_flag() {
    const VERIFIER: &str = "binary-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    let (mut child, base) = launch(&["--refresh-reuse-grace-secs", "30"]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let challenge = tokenkeep_fixture_server::pkce_s256(VERIFIER);
    let redirect_uri = "http://127.0.0.1:1/callback";
    let authorized = http
        .get(format!("{base}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "public-app"),
            ("redirect_uri", redirect_uri),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(authorized.status(), StatusCode::FOUND);
    let location = url::Url::parse(authorized.headers()["location"].to_str().expect("ASCII")).expect("URL");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let token = |form: Vec<(&'static str, String)>| {
        let request = http.post(format!("{base}/token")).form(&form);
        async move {
            let reply = request.send().await.expect("token request");
            (reply.status(), reply.json::<serde_json::Value>().await.expect("JSON"))
        }
    };
    let (status, signed_in) = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", redirect_uri.into()),
        ("code_verifier", VERIFIER.into()),
        ("client_id", "public-app".into()),
    ])
    .await;
    assert_eq!(status, StatusCode::OK, "{signed_in}");
    let rt0 = signed_in["refresh_token"].as_str().expect("refresh token").to_owned();
    let refresh = || {
        token(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", rt0.clone()),
            ("client_id", "public-app".into()),
        ])
    };
    assert_eq!(refresh().await.0, StatusCode::OK);
    let (status, again) = refresh().await;
    assert_eq!(status, StatusCode::OK, "within the grace period: {again}");
    let stats: serde_json::Value = reqwest::get(format!("{base}/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stats["refresh_reuse_within_grace"], 1);
    drop(child.stdin.take());
    assert!(wait_for_exit(&mut child).success());
}
