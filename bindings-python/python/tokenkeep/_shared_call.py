"""One native wait per event loop for concurrent async callers of a keeper.

The core already sends one refresh however many callers ask (single
flight); what it cannot share is the cost of each caller crossing the FFI
boundary and being woken from it. So concurrent ``*_async`` calls of one
keeper with the same arguments, on one event loop, await one asyncio task
that wraps the single native call. Scope and caveats:

* Per event loop: tasks of another loop (another thread, or ``asyncio.run``
  called again) start their own native call, which joins the core's refresh.
* Cancellation: each caller awaits the task through ``asyncio.shield``, so
  cancelling one caller cancels neither the native call nor the others'
  wait; the native call runs on to its end even if every caller is gone
  (the core stores what it gets either way).
* Errors reach every caller that is waiting; a caller arriving after the
  task ended starts a new call.

Example (what ``TokenKeeper.access_token_async`` does)::

    calls = SharedCalls()
    token = await calls.join(("access_token",), lambda: core.access_token_lease())
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, Awaitable, Callable, Dict, Hashable, TypeVar

T = TypeVar("T")


class SharedCalls:
    """The native calls in flight of one keeper, per event loop and key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[Hashable, asyncio.Future[Any]]]" = (
            weakref.WeakKeyDictionary()
        )

    async def join(self, key: Hashable, start: Callable[[], Awaitable[T]]) -> T:
        """The result of the call in flight for ``key`` on this loop, or of
        ``start()`` run as a new one."""
        loop = asyncio.get_running_loop()
        with self._lock:
            calls = self._by_loop.get(loop)
            if calls is None:
                calls = self._by_loop[loop] = {}
        call = calls.get(key)
        if call is None:
            call = asyncio.ensure_future(start())
            calls[key] = call
            call.add_done_callback(lambda done: _finished(calls, key, done))
        result: T = await asyncio.shield(call)
        return result

    def in_flight(self) -> int:
        """Calls in flight on the running loop (for tests)."""
        with self._lock:
            calls = self._by_loop.get(asyncio.get_running_loop())
        return len(calls) if calls else 0


def _finished(calls: Dict[Hashable, "asyncio.Future[Any]"], key: Hashable, done: "asyncio.Future[Any]") -> None:
    """Forgets the ended call (runs on its loop, like every other access to
    ``calls``) and marks its error as seen, for the case nobody waited."""
    if calls.get(key) is done:
        del calls[key]
    if not done.cancelled():
        done.exception()
