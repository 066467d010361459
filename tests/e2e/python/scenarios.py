"""The e2e scenarios of tests/e2e/scenarios.json, run from Python against
the authorization server at $E2E_ISSUER; writes $E2E_RESULTS_DIR/python.json.

Each scenario is a function named after its id; an id without one fails.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict

import tokenkeep

DOC = json.loads(Path(os.environ["E2E_SCENARIOS"]).read_text())
SERVER: Dict[str, Any] = DOC["server"]
ISSUER = os.environ["E2E_ISSUER"]


def url(endpoint: str) -> str:
    return ISSUER + SERVER["endpoints"][endpoint]


def http(method: str, endpoint: str, form: Dict[str, str] | None = None, query: Dict[str, str] | None = None,
         basic: tuple[str, str] | None = None) -> Any:
    target = url(endpoint) + ("?" + urllib.parse.urlencode(query) if query else "")
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(target, data=data, method=method)
    if basic:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def grants(grant_type: str) -> int:
    return int(http("GET", "test_stats")["token_requests"][grant_type])


def is_active(token: str) -> bool:
    answer = http("POST", "introspection", form={"token": token},
                  basic=(SERVER["introspection_client"], SERVER["introspection_secret"]))
    return bool(answer["active"])


def past_expiry() -> None:
    time.sleep(SERVER["access_token_ttl_secs"] + 0.3)


def user_keeper() -> tokenkeep.TokenKeeper:
    return tokenkeep.TokenKeeper(
        token_endpoint=url("token"),
        client_id=SERVER["public_client"],
        authorization_endpoint=url("authorization"),
        revocation_endpoint=url("revocation"),
        device_authorization_endpoint=url("device_authorization"),
        redirect_uri=SERVER["redirect_uri"],
        scopes=SERVER["scopes"],
    )


def sign_in(keeper: tokenkeep.TokenKeeper) -> None:
    request = keeper.authorization_request()
    callback = http("GET", "test_sign_in", query={"url": request.url()})["callback_url"]
    keeper.complete_authorization(request, callback)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def sign_in_pkce() -> None:
    keeper = user_keeper()
    sign_in(keeper)
    tokens = keeper.tokens()
    check(tokens is not None and tokens.has_refresh_token(), "no refresh token after sign-in")
    check(keeper.state() == tokenkeep.SessionState.VALID, "state is not Valid")


def refresh_on_expiry() -> None:
    keeper = user_keeper()
    sign_in(keeper)
    first = keeper.access_token()
    before = grants("refresh_token")
    past_expiry()
    check(keeper.access_token() != first, "the token did not change after expiry")
    check(grants("refresh_token") == before + 1, "not exactly one refresh")


def rotation() -> None:
    keeper = user_keeper()
    sign_in(keeper)
    old = keeper.tokens().refresh_token()
    new = keeper.refresh().refresh_token()
    check(old != new, "the refresh token did not rotate")
    check(not is_active(old), "the old refresh token is still active")
    check(is_active(new), "the new refresh token is not active")


def single_flight() -> None:
    keeper = user_keeper()
    sign_in(keeper)
    past_expiry()
    before = grants("refresh_token")
    callers = SERVER["concurrent_callers"]
    start = threading.Barrier(callers)

    def call() -> str:
        start.wait()
        return keeper.access_token()

    with ThreadPoolExecutor(max_workers=callers) as pool:
        tokens = list(pool.map(lambda _: call(), range(callers)))
    check(len(set(tokens)) == 1, "callers got different tokens")
    refreshes = grants("refresh_token") - before
    check(refreshes == 1, f"{refreshes} refreshes for {callers} callers")


def reuse_ends_session() -> None:
    a = user_keeper()
    sign_in(a)
    tokens = a.tokens()
    b = user_keeper()
    b.set_tokens(tokens.access_token(), refresh_token=tokens.refresh_token(), expires_in=3)
    a.refresh()
    try:
        b.refresh()
    except tokenkeep.SessionExpiredError:
        pass
    else:
        raise AssertionError("expected SessionExpiredError")
    check(b.state() == tokenkeep.SessionState.SESSION_EXPIRED, "B's state is not SessionExpired")


def logout_revokes() -> None:
    keeper = user_keeper()
    sign_in(keeper)
    refresh_token = keeper.tokens().refresh_token()
    check(keeper.logout().fully_revoked, "the server did not confirm both revocations")
    check(not is_active(refresh_token), "the refresh token is still active")
    try:
        keeper.access_token()
    except tokenkeep.NotSignedInError:
        return
    raise AssertionError("expected NotSignedInError")


def client_credentials_renewal() -> None:
    keeper = tokenkeep.TokenKeeper(token_endpoint=url("token"), client_id=SERVER["m2m_client"],
                                   client_secret=SERVER["m2m_secret"], client_credentials=True)
    before = grants("client_credentials")
    first = keeper.access_token()
    past_expiry()
    check(keeper.access_token() != first, "the token was not renewed")
    count = grants("client_credentials") - before
    check(count == 2, f"{count} client_credentials grants, expected 2")


def device_flow() -> None:
    keeper = user_keeper()
    device = keeper.start_device_authorization()

    def user_approves() -> None:
        time.sleep(1)
        http("POST", "test_approve_device", form={"user_code": device.user_code()})

    approver = threading.Thread(target=user_approves)
    approver.start()
    tokens = keeper.complete_device_authorization(device)
    approver.join()
    check(tokens.has_refresh_token(), "no refresh token")
    check(keeper.state() == tokenkeep.SessionState.VALID, "state is not Valid")


def main() -> int:
    results: Dict[str, str] = {}
    for scenario in DOC["scenarios"]:
        sid = scenario["id"]
        run: Callable[[], None] | None = globals().get(sid)
        try:
            if run is None:
                raise AssertionError(f"scenario `{sid}` is not implemented in Python")
            run()
            results[sid] = "pass"
        except Exception as error:  # a failed scenario is reported, the others still run
            results[sid] = f"fail: {type(error).__name__}: {error}"
        print(f"python  {sid:<28} {results[sid]}", flush=True)
    out = Path(os.environ["E2E_RESULTS_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "python.json").write_text(json.dumps({"language": "python", "results": results}))
    return 0 if all(r == "pass" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
