"""Refresh throughput from Python: tokenkeep next to a raw ``http.client`` loop.

Both do the same refresh_token grant against the same fixture server:

* tokenkeep: a keeper on a manual clock that jumps past the access token's
  expiry before each ``keeper.access_token()`` (so each call is a real
  refresh: store lock, re-read, request, rotation stored, served);
* raw: ``http.client`` on one keep-alive connection per caller posting the
  grant and keeping the rotated refresh token from the JSON answer.

Sequentially (one caller) and with 8 threads in parallel (one account and
one connection each). Prints refreshes per second of each (best of several
interleaved rounds) and the ratio tokenkeep / raw; the goal is >= 90 %.
Usage::

    python benchmarks/bench_refresh.py            # full run (use a release wheel)
    python benchmarks/bench_refresh.py --quick    # a few refreshes (the test suite's smoke run)

Needs the fixture server binary (built with cargo if missing).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import FixtureServer, fixture_binary  # noqa: E402

import tokenkeep  # noqa: E402

CLIENT_ID = "public-app"
PARALLEL = 8


def raw_caller(server: FixtureServer) -> Callable[[int], None]:
    """``count`` refreshes with http.client on one keep-alive connection."""
    url = urllib.parse.urlsplit(server.url("/token"))
    refresh_token = server.sign_in(CLIENT_ID)["refresh_token"]
    connection = http.client.HTTPConnection(url.hostname, url.port)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}

    def run(count: int) -> None:
        nonlocal refresh_token
        for _ in range(count):
            body = urllib.parse.urlencode(
                {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT_ID}
            )
            connection.request("POST", url.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200, answer
            refresh_token = answer.get("refresh_token", refresh_token)

    return run


def tokenkeep_caller(server: FixtureServer) -> Callable[[int], None]:
    """``count`` refreshes through a keeper whose clock jumps past expiry."""
    clock = tokenkeep.ManualClock()
    keeper = tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id=CLIENT_ID, clock=clock)
    keeper.set_token_response(server.sign_in(CLIENT_ID))

    def run(count: int) -> None:
        for _ in range(count):
            clock.advance_secs(7_200)
            keeper.access_token()

    return run


def rate(callers: List[Callable[[int], None]], per_caller: int) -> float:
    """Refreshes per second with each caller on its own thread (or this one)."""
    started = time.perf_counter()
    if len(callers) == 1:
        callers[0](per_caller)
    else:
        threads = [threading.Thread(target=caller, args=(per_caller,)) for caller in callers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return per_caller * len(callers) / (time.perf_counter() - started)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few refreshes, to check the script works")
    args = parser.parse_args(argv)
    refreshes, rounds = (40, 1) if args.quick else (2_000, 3)
    server = FixtureServer(fixture_binary())
    try:
        print(f"refresh_token grants per second against the fixture server (best of {rounds} rounds):")
        for callers in (1, PARALLEL):
            raw = [raw_caller(server) for _ in range(callers)]
            kept = [tokenkeep_caller(server) for _ in range(callers)]
            best_raw = best_kept = 0.0
            for _ in range(rounds):
                best_raw = max(best_raw, rate(raw, refreshes // callers))
                best_kept = max(best_kept, rate(kept, refreshes // callers))
            print(
                f"  {callers} caller(s): raw http.client {best_raw:8.0f}/s, tokenkeep {best_kept:8.0f}/s, "
                f"ratio {100 * best_kept / best_raw:5.1f} % (goal: >= 90 %)"
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
