"""The Python-side token cache: the fast path off the FFI boundary."""

from __future__ import annotations

import threading
import time

import tokenkeep
from support import eventually
from tokenkeep._token_cache import TokenCache


class CountingCore:
    """Wraps the generated TokenKeeper and counts the calls that fetch a token."""

    def __init__(self, core):
        self._core = core
        self.leases = 0

    def access_token_lease_blocking(self):
        self.leases += 1
        return self._core.access_token_lease_blocking()

    def access_token_blocking(self):
        self.leases += 1
        return self._core.access_token_blocking()

    def __getattr__(self, name):
        return getattr(self._core, name)


def counted(keeper: tokenkeep.TokenKeeper) -> CountingCore:
    counter = CountingCore(keeper.core)
    keeper._core = counter
    return counter


def settled(server, make_keeper, client_id="public-app", **kwargs):
    """A signed-in keeper whose tokens-changed event has been delivered
    (it drops the cache, so counting starts after it)."""
    events = []
    keeper = make_keeper(client_id, on_tokens_changed=events.append, **kwargs)
    keeper.set_token_response(server.sign_in(client_id))
    eventually("the set event", lambda: len(events) == 1)
    return keeper


def test_a_fresh_token_is_served_from_the_cache_without_crossing_ffi(server, make_keeper):
    keeper = settled(server, make_keeper)
    counter = counted(keeper)
    tokens = {keeper.access_token() for _ in range(10_000)}
    assert len(tokens) == 1
    assert counter.leases == 1


def test_the_cache_is_off_with_a_manual_clock(server, make_keeper):
    keeper = settled(server, make_keeper, clock=tokenkeep.ManualClock())
    counter = counted(keeper)
    for _ in range(10):
        keeper.access_token()
    assert counter.leases == 10


def test_a_change_made_elsewhere_reaches_the_cache_through_the_cores_event(server, make_keeper):
    keeper = make_keeper()
    keeper.set_token_response(server.sign_in())
    old = keeper.access_token()
    new = keeper.core.refresh_blocking().access_token()  # behind the wrapper's back
    eventually("the tokens-changed event drops the cached token", lambda: keeper.access_token() == new)
    assert new != old


def test_the_lease_follows_the_cores_deadline(server, make_keeper):
    server.client(client_id="short", access_ttl=4)  # refresh due at 2 s (half the lifetime)
    keeper = settled(server, make_keeper, "short")
    first = keeper.access_token()
    assert keeper._cache._entry is not None
    left = keeper._cache._entry[1] - time.monotonic()
    assert 0 < left <= 2.0
    eventually("a new token once the lease ran out", lambda: keeper.access_token() != first, timeout=10)
    assert server.refresh_requests() >= 1


def test_a_lease_fetched_before_an_invalidation_is_not_stored_after_it():
    cache = TokenCache()
    ticket = cache.ticket()
    cache.invalidate()
    cache.put(ticket, "stale", 60_000)
    assert cache.get() is None
    ticket = cache.ticket()
    cache.put(ticket, "fresh", 60_000)
    assert cache.get() == "fresh"
    cache.put(cache.ticket(), "zero lease", 0)
    assert cache.get() == "fresh"
    assert "fresh" not in repr(cache)


def test_readers_and_invalidations_from_many_threads():
    cache = TokenCache()
    stop = threading.Event()
    seen = set()

    def reader():
        while not stop.is_set():
            value = cache.get()
            if value is not None:
                seen.add(value)

    def writer():
        for i in range(2_000):
            cache.put(cache.ticket(), f"t{i}", 60_000)
            cache.invalidate()

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    writer()
    stop.set()
    for thread in readers:
        thread.join(timeout=10)
    assert cache.get() is None
    assert seen <= {f"t{i}" for i in range(2_000)}
