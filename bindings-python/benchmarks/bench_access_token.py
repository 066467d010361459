"""Per-call cost of tokenkeep from Python, against the fixture server.

Prints, in one run:

* ``keeper.access_token()`` on a fresh token: the cached fast path (no FFI);
* the same call without the cache (a keeper with a manual clock asks for a lease each time), and the raw generated call
  (``keeper.core.access_token_blocking()``): what crossing FFI costs;
* an authorized ``requests`` GET of the fixture's ``/api/me`` with
  ``tokenkeep.requests_auth.RequestsAuth``, next to the same GET made with
  ``requests-oauthlib``'s ``OAuth2Session`` (auto-refresh configured:
  ``auto_refresh_url`` and ``token_updater``), and the ratio; plus the same
  GET with a fixed header as the floor both sit on.

Each figure is the best of several rounds (the HTTP ones interleaved, so
drift hits both sides alike). Usage::

    python benchmarks/bench_access_token.py            # full run
    python benchmarks/bench_access_token.py --quick    # a few iterations (the test suite's smoke run)

Needs the test extras (requests, requests-oauthlib) and the fixture server
binary (built with cargo if missing).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import requests  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402
from support import FixtureServer, fixture_binary  # noqa: E402

import tokenkeep  # noqa: E402
from tokenkeep.requests_auth import RequestsAuth  # noqa: E402

# requests-oauthlib refuses http:// URLs unless told; the fixture server is loopback HTTP.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def per_call(call: Callable[[], object], calls: int, rounds: int) -> float:
    """Seconds per call: the best round's mean."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def interleaved(calls: Dict[str, Callable[[], object]], per_round: int, rounds: int) -> Dict[str, float]:
    """Seconds per call of each entry, rounds interleaved; best round each."""
    best = {name: float("inf") for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            for _ in range(per_round):
                call()
            best[name] = min(best[name], (time.perf_counter() - started) / per_round)
    return best


def fmt(seconds: float) -> str:
    if abs(seconds) < 1e-6:
        return f"{seconds * 1e9:9.0f} ns"
    return f"{seconds * 1e6:9.2f} µs"


def row(label: str, value: str) -> None:
    print(f"  {label:<52}{value}")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations only (smoke run)")
    args = parser.parse_args(argv)
    fast_calls, ffi_calls, http_calls, rounds = (2_000, 200, 20, 2) if args.quick else (500_000, 20_000, 1_000, 5)

    server = FixtureServer(fixture_binary())
    try:
        print(f"tokenkeep {tokenkeep.__version__}, Python {platform.python_version()}, {platform.machine()}")
        print(f"fixture server {server.base_url}; best of {rounds} rounds\n")
        origin = [server.base_url]
        token_url = server.url("/token")
        me = server.url("/api/me")

        cached = tokenkeep.TokenKeeper(token_endpoint=token_url, client_id="public-app", api_origins=origin)
        cached.set_token_response(server.sign_in())
        uncached = tokenkeep.TokenKeeper(token_endpoint=token_url, client_id="public-app", api_origins=origin, clock=tokenkeep.ManualClock())
        uncached.set_token_response(server.sign_in())
        cached.access_token()
        time.sleep(0.05)  # let the tokens-changed events land before timing

        fast = per_call(cached.access_token, fast_calls, rounds)
        wrapped = per_call(uncached.access_token, ffi_calls, rounds)
        raw = per_call(uncached.core.access_token_blocking, ffi_calls, rounds)
        print("access_token() on a fresh token")
        row("keeper.access_token()  (cached, the default)", fmt(fast))
        row("keeper.access_token()  (no cache: a lease, three FFI calls)", fmt(wrapped))
        row("keeper.core.access_token_blocking()  (raw FFI)", fmt(raw))
        row("raw FFI / cached", f"{raw / fast:9.1f}x")
        print()

        tokens_seen: List[dict] = []
        answer = server.sign_in()
        oauth = OAuth2Session(
            client_id="public-app",
            token={**answer, "expires_at": time.time() + answer["expires_in"]},
            auto_refresh_url=token_url,
            auto_refresh_kwargs={"client_id": "public-app"},
            token_updater=tokens_seen.append,
        )
        with_tokenkeep = requests.Session()
        with_tokenkeep.auth = RequestsAuth(cached)
        fixed = requests.Session()
        fixed.headers["Authorization"] = "Bearer " + answer["access_token"]
        for session in (with_tokenkeep, oauth, fixed):  # warm the connection pools
            assert session.get(me, timeout=10).status_code == 200

        figures = interleaved(
            {
                "tokenkeep": lambda: with_tokenkeep.get(me, timeout=10),
                "oauthlib": lambda: oauth.get(me, timeout=10),
                "fixed": lambda: fixed.get(me, timeout=10),
            },
            http_calls,
            rounds,
        )
        print(f"authorized requests GET {me} (keep-alive session)")
        row("requests + tokenkeep RequestsAuth", fmt(figures["tokenkeep"]))
        row("requests-oauthlib OAuth2Session (auto-refresh on)", fmt(figures["oauthlib"]))
        row("requests + fixed header (the floor)", fmt(figures["fixed"]))
        row("OAuth2Session / tokenkeep", f"{figures['oauthlib'] / figures['tokenkeep']:9.2f}x")
        print()

        # The authorization step alone, without the network: what each adds per request.
        prepared = requests.Request("GET", me).prepare()
        attach = per_call(lambda: with_tokenkeep.auth(prepared), fast_calls // 10, rounds)
        add_token = per_call(
            lambda: oauth._client.add_token(me, http_method="GET", headers={}), fast_calls // 10, rounds
        )
        print("the authorization step alone (no network)")
        row("RequestsAuth(keeper)(prepared_request)", fmt(attach))
        row("OAuth2Session's client.add_token (expiry check)", fmt(add_token))
        row("OAuth2Session / tokenkeep", f"{add_token / attach:9.2f}x")
        assert server.refresh_requests() == 0, "no refresh should happen during the run"
        for closable in (with_tokenkeep, oauth, fixed):
            closable.close()
        cached.close()
        uncached.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
