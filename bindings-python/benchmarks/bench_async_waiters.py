"""1,000 asyncio tasks awaiting one refresh: tokenkeep next to Authlib.

Each round expires the access token and starts 1,000 tasks that all want a
valid token at once, then waits for all of them; both libraries make one
refresh_token grant for the round against the same fixture server:

* tokenkeep: ``await keeper.access_token_async()`` (a manual clock jumps
  past the expiry; one native call shared by the tasks of the loop);
* Authlib: ``httpx.AsyncOAuth2Client`` holding an expired token, each task
  awaiting ``ensure_active_token()`` (Authlib's own single-flight refresh
  under an ``asyncio.Lock``), then reading the token.

Prints milliseconds per round (the best of several, rounds interleaved so
drift hits both alike) and the ratio tokenkeep / Authlib; lower is better,
the goal is at most 1.0. Usage::

    python benchmarks/bench_async_waiters.py            # full run
    python benchmarks/bench_async_waiters.py --quick    # a couple of rounds (the test suite's smoke run)

Needs authlib and httpx (the test extras) and the fixture server binary.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from authlib.integrations.httpx_client import AsyncOAuth2Client  # noqa: E402
from support import FixtureServer, fixture_binary  # noqa: E402

import tokenkeep  # noqa: E402

TASKS = 1_000


async def tokenkeep_round(keeper: tokenkeep.TokenKeeper, clock: tokenkeep.ManualClock) -> float:
    clock.advance_secs(7_200)
    started = time.perf_counter()
    tokens = await asyncio.gather(*(keeper.access_token_async() for _ in range(TASKS)))
    took = time.perf_counter() - started
    assert len(set(tokens)) == 1
    return took


async def authlib_round(client: AsyncOAuth2Client) -> float:
    token = dict(client.token)
    token["expires_at"] = int(time.time()) - 60  # expired: the round's one refresh
    client.token = token

    async def caller() -> str:
        await client.ensure_active_token(client.token)
        return str(client.token["access_token"])

    started = time.perf_counter()
    tokens = await asyncio.gather(*(caller() for _ in range(TASKS)))
    took = time.perf_counter() - started
    assert len(set(tokens)) == 1
    return took


async def run(server: FixtureServer, rounds: int) -> Dict[str, float]:
    clock = tokenkeep.ManualClock()
    keeper = tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="public-app", clock=clock)
    keeper.set_token_response(server.sign_in())
    client = AsyncOAuth2Client(
        client_id="public-app",
        token_endpoint_auth_method="none",
        token=server.sign_in(),
        token_endpoint=server.url("/token"),
    )
    best = {"tokenkeep": float("inf"), "authlib": float("inf")}
    refreshes_before = server.refresh_requests()
    try:
        for _ in range(rounds):
            best["tokenkeep"] = min(best["tokenkeep"], await tokenkeep_round(keeper, clock))
            best["authlib"] = min(best["authlib"], await authlib_round(client))
    finally:
        await client.aclose()
        keeper.close()
    refreshes = server.refresh_requests() - refreshes_before
    assert refreshes == 2 * rounds, f"{refreshes} refresh requests for {rounds} rounds of each (expected one per round)"
    return best


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a couple of rounds, to check the script works")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 15
    server = FixtureServer(fixture_binary())
    try:
        best = asyncio.run(run(server, rounds))
    finally:
        server.stop()
    print(f"{TASKS} asyncio tasks awaiting one refresh (best of {rounds} rounds, one refresh per round each):")
    print(f"  tokenkeep access_token_async()            {best['tokenkeep'] * 1e3:8.1f} ms")
    print(f"  Authlib AsyncOAuth2Client                 {best['authlib'] * 1e3:8.1f} ms")
    print(f"  ratio tokenkeep / Authlib                 {best['tokenkeep'] / best['authlib']:8.2f} (goal: <= 1.00)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
