"""1,000 asyncio tasks on one expired token share one native call (issue 13, item 9).

Behaviour first (one refresh at the server, one token for all, a cancelled
task does not disturb the others, an error reaches every task), then the
white-box check that the layer made one FFI call for all of them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import pytest

import tokenkeep

TASKS = 1_000


def expired_keeper(server: Any, make_keeper: Any) -> tuple[tokenkeep.TokenKeeper, str]:
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    old = keeper.access_token()
    clock.advance_secs(3600)
    return keeper, old


class CountingCore:
    """Stands in front of the generated keeper and counts the native async
    calls the layer makes (white box: what "one FFI wait" means here)."""

    def __init__(self, core: Any) -> None:
        self._core = core
        self.calls: List[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._core, name)
        if not asyncio.iscoroutinefunction(target):
            return target

        def counted(*args: Any) -> Any:
            self.calls.append(name)
            return target(*args)

        return counted


def test_1000_tasks_on_an_expired_token_make_one_refresh_and_get_one_token(server, make_keeper):
    keeper, old = expired_keeper(server, make_keeper)
    server.fault(delay_ms=200)  # the refresh stays in flight while the tasks pile up

    async def main() -> List[str]:
        return await asyncio.gather(*(keeper.access_token_async() for _ in range(TASKS)))

    tokens = asyncio.run(main())
    assert len(tokens) == TASKS
    assert len(set(tokens)) == 1 and tokens[0] != old
    assert server.refresh_requests() == 1


def test_1000_tasks_cross_into_the_core_once(server, make_keeper):
    keeper, _ = expired_keeper(server, make_keeper)
    counting = CountingCore(keeper._core)
    keeper._core = counting

    async def main() -> List[str]:
        return await asyncio.gather(*(keeper.access_token_async() for _ in range(TASKS)))

    assert len(set(asyncio.run(main()))) == 1
    assert counting.calls == ["access_token_lease"]
    assert server.refresh_requests() == 1


def test_a_cancelled_task_does_not_disturb_the_others(server, make_keeper):
    keeper, old = expired_keeper(server, make_keeper)
    server.fault(delay_ms=300)

    async def main() -> tuple[List[str], bool]:
        tasks = [asyncio.ensure_future(keeper.access_token_async()) for _ in range(TASKS)]
        await asyncio.sleep(0)  # every task has joined the shared call
        while keeper._shared.in_flight() == 0:
            await asyncio.sleep(0)
        tasks[0].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return [r for r in results if isinstance(r, str)], isinstance(results[0], asyncio.CancelledError)

    tokens, first_cancelled = asyncio.run(main())
    assert first_cancelled
    assert len(tokens) == TASKS - 1
    assert len(set(tokens)) == 1 and tokens[0] != old
    assert server.refresh_requests() == 1


def test_a_refresh_error_reaches_every_task(server, make_keeper):
    keeper, _ = expired_keeper(server, make_keeper)
    server.fault(status=503, retry_after=120)

    async def main() -> List[Any]:
        return await asyncio.gather(*(keeper.access_token_async() for _ in range(TASKS)), return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, tokenkeep.TransientError) for r in results), {type(r) for r in results}
    assert server.refresh_requests() == 1


@pytest.mark.parametrize("loops", [4])
def test_tasks_on_several_event_loops_in_threads_share_one_refresh(server, make_keeper, loops):
    keeper, old = expired_keeper(server, make_keeper)
    server.fault(delay_ms=200)
    results: List[List[str]] = []
    errors: List[BaseException] = []

    def run_loop() -> None:
        async def main() -> List[str]:
            return await asyncio.gather(*(keeper.access_token_async() for _ in range(100)))

        try:
            results.append(asyncio.run(main()))
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run_loop) for _ in range(loops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    tokens = {token for loop_tokens in results for token in loop_tokens}
    assert len(results) == loops and len(tokens) == 1 and old not in tokens
    assert server.refresh_requests() == 1


def test_a_call_after_the_shared_one_ended_starts_anew(server, make_keeper):
    keeper, _ = expired_keeper(server, make_keeper)

    async def main() -> tuple[str, int, str]:
        first = await keeper.refresh_async()
        in_flight_after = keeper._shared.in_flight()
        second = await keeper.refresh_async()
        return first.access_token(), in_flight_after, second.access_token()

    first, in_flight_after, second = asyncio.run(main())
    assert in_flight_after == 0
    assert first != second
    assert server.refresh_requests() == 2
