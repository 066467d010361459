"""Many callers, one refresh: threads and asyncio tasks on an expired token."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import tokenkeep

CALLERS = 200


@pytest.mark.parametrize("server_delay_ms", [0, 200])
def test_200_threads_on_an_expired_token_make_one_refresh(server, make_keeper, server_delay_ms):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    old = keeper.access_token()
    clock.advance_secs(3600)
    if server_delay_ms:  # keep the refresh in flight while the callers pile up
        server.fault(delay_ms=server_delay_ms)
    start = threading.Barrier(CALLERS)
    results = []
    errors = []

    def caller():
        try:
            start.wait(timeout=30)
            results.append(keeper.access_token())
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == CALLERS
    assert len(set(results)) == 1 and results[0] != old
    assert server.refresh_requests() == 1


@pytest.mark.parametrize("server_delay_ms", [0, 200])
def test_asyncio_gather_of_200_tasks_on_an_expired_token_makes_one_refresh(server, make_keeper, server_delay_ms):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    old = keeper.access_token()
    clock.advance_secs(3600)
    if server_delay_ms:
        server.fault(delay_ms=server_delay_ms)

    async def main():
        return await asyncio.wait_for(
            asyncio.gather(*(keeper.access_token_async() for _ in range(CALLERS))), timeout=60
        )

    results = asyncio.run(main())
    assert len(results) == CALLERS
    assert len(set(results)) == 1 and results[0] != old
    assert server.refresh_requests() == 1


def test_an_async_refresh_does_not_block_the_event_loop(server, make_keeper):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    clock.advance_secs(3600)
    server.fault(delay_ms=500)

    async def main():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        await asyncio.wait_for(keeper.access_token_async(), timeout=30)
        elapsed = time.monotonic() - started
        stop.set()
        await task
        return ticks, elapsed

    ticks, elapsed = asyncio.run(main())
    assert elapsed >= 0.5
    assert ticks >= 5, f"the loop ticked only {ticks} times during a {elapsed:.2f} s refresh"


def test_async_callers_and_thread_callers_share_one_refresh(server, make_keeper):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    clock.advance_secs(3600)
    server.fault(delay_ms=300)
    from_threads = []
    threads = [threading.Thread(target=lambda: from_threads.append(keeper.access_token())) for _ in range(20)]
    for thread in threads:
        thread.start()

    async def main():
        return await asyncio.gather(*(keeper.access_token_async() for _ in range(20)))

    from_tasks = asyncio.run(main())
    for thread in threads:
        thread.join(timeout=30)
    assert len(set(from_threads) | set(from_tasks)) == 1
    assert server.refresh_requests() == 1
