"""Test support: the fixture authorization server as a subprocess, and bounded waits.

The server binary (``tokenkeep-fixture-server``, see
``tests/fixture-server/README.md``) is built with cargo if it is missing,
started once per test session with ``--port 0`` and stdin as a pipe, and
stopped by closing that pipe and waiting for its process. Each test gets it
reset to its start-up state (``POST /admin/reset``, see conftest.py).
Every wait is bounded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import selectors
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import tokenkeep

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
BUILD_TIMEOUT = 1800.0


def fixture_binary() -> Path:
    """The fixture server binary, built if missing."""
    override = os.environ.get("TOKENKEEP_FIXTURE_SERVER")
    if override:
        return Path(override)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    binary = target / "debug" / "tokenkeep-fixture-server"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "-p", "tokenkeep-fixture-server"],
            cwd=REPO,
            check=True,
            timeout=BUILD_TIMEOUT,
        )
    return binary


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_http = urllib.request.build_opener(_NoRedirect)


class FixtureServer:
    """One running fixture server and its admin API."""

    def __init__(self, binary: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [str(binary), "--port", "0", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_url = self._read_address()

    def _read_address(self) -> str:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=START_TIMEOUT):
                self.stop()
                raise RuntimeError(f"the fixture server printed nothing in {START_TIMEOUT} s")
        line = self.process.stdout.readline().strip()
        prefix = "listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"unexpected first line from the fixture server: {line!r}")
        return line[len(prefix) :]

    def stop(self) -> None:
        """Closes stdin (the server exits) and waits for this process."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()

    # -- HTTP --------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(self, method: str, path: str, body: Any = None, form: Optional[Dict[str, str]] = None) -> Any:
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.url(path), data=data, headers=headers, method=method)
        try:
            with _http.open(req, timeout=10) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path} answered {error.code}: {error.read()[:200]!r}") from None
        return json.loads(text) if text else None

    def stats(self) -> Dict[str, Any]:
        return self.request("GET", "/stats")

    def refresh_requests(self) -> int:
        return int(self.stats()["token_requests"]["refresh_token"])

    def token_requests(self) -> int:
        return int(self.stats()["token_requests"]["total"])

    def reset(self) -> None:
        self.request("POST", "/admin/reset")

    def fault(self, **spec: Any) -> None:
        self.request("POST", "/admin/faults", body=spec)

    def client(self, **spec: Any) -> None:
        self.request("POST", "/admin/clients", body=spec)

    def expire_access_tokens(self) -> None:
        self.request("POST", "/admin/expire-access-tokens")

    def is_active(self, token: str) -> bool:
        return bool(self.request("POST", "/introspect", form={"token": token})["active"])

    def sign_in(self, client_id: str = "public-app", scope: str = "read write") -> Dict[str, Any]:
        """A token response for a fresh sign-in (authorization code + PKCE),
        as an app's own sign-in flow would get it."""
        verifier = secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect_uri = "http://127.0.0.1/callback"
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": "s",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "scope": scope,
            }
        )
        try:
            _http.open(self.url("/authorize?" + query), timeout=10)
            raise AssertionError("/authorize did not redirect")
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 302, redirect.code
            location = redirect.headers["Location"]
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
        return self.request(
            "POST",
            "/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
            },
        )


class CallbackListener(tokenkeep.SessionListener):
    """A listener made of optional callables (``on_tokens_changed=list.append``, ...)."""

    def __init__(self, **callbacks: Callable[[Any], Any]) -> None:
        self.callbacks = callbacks

    def on_tokens_changed(self, event: Any) -> None:
        self.callbacks.get("on_tokens_changed", lambda _: None)(event)

    def on_session_expired(self, reason: str) -> None:
        self.callbacks.get("on_session_expired", lambda _: None)(reason)

    def on_refresh_failed(self, failure: Any) -> None:
        self.callbacks.get("on_refresh_failed", lambda _: None)(failure)


def delivered() -> None:
    """Waits (bounded) until every listener event queued so far was delivered."""
    assert tokenkeep.flush_listener_events(5000), "listener events were not delivered in 5 s"


def eventually(what: str, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Waits (bounded) until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.01)
