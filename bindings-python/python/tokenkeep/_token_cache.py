"""The fast path: the access token kept in Python until a deadline the core hands out.

Crossing the FFI boundary costs microseconds per call; a cached token costs
a dictionary-free attribute read and a ``time.monotonic()`` call. The core
decides how long a token may be served without asking it again
(``TokenKeeper.access_token_lease`` returns the token and ``valid_for_ms``:
until the token is due for refresh or expires, at most 60 s), so refresh-ahead
still happens on time. This cache only remembers that answer, measured on
``time.monotonic()`` from just *before* the call that produced it.

The entry is dropped when the core says the tokens changed or the session
ended (its listener events), when this process changes them (``set_tokens``,
``refresh``, ``logout``), and when a server rejects the token (HTTP 401).
A *generation* counter makes that race-free: a lease fetched before an
invalidation is not stored after it. With a ``ManualClock`` the cache is off
(monotonic time does not follow a manual clock).

Thread-safe: readers take no lock (the entry is one tuple, swapped whole);
writers take a small lock.
"""

from __future__ import annotations

import threading
import time
from typing import Optional, Tuple

__all__ = ["TokenCache"]

_monotonic = time.monotonic


class TokenCache:
    """One access token and the monotonic time until which it may be served."""

    __slots__ = ("_entry", "_generation", "_lock", "enabled")

    def __init__(self, enabled: bool = True) -> None:
        self._entry: Optional[Tuple[str, float]] = None
        self._generation = 0
        self._lock = threading.Lock()
        #: Whether leases are kept at all.
        self.enabled = enabled

    def get(self) -> Optional[str]:
        """The cached token, or ``None`` when there is none or it ran out."""
        entry = self._entry
        if entry is not None and _monotonic() < entry[1]:
            return entry[0]
        return None

    def ticket(self) -> Tuple[int, float]:
        """Taken before asking the core: the generation and the start time."""
        return self._generation, _monotonic()

    def put(self, ticket: Tuple[int, float], token: str, valid_for_ms: int) -> None:
        """Keeps ``token`` for ``valid_for_ms`` from the ticket's time, unless
        the cache was invalidated since the ticket was taken."""
        if not self.enabled or valid_for_ms <= 0:
            return
        generation, started = ticket
        with self._lock:
            if generation == self._generation:
                self._entry = (token, started + valid_for_ms / 1000.0)

    def invalidate(self) -> None:
        """Forgets the token; leases fetched before this call are not stored."""
        with self._lock:
            self._generation += 1
            self._entry = None

    def __repr__(self) -> str:
        entry = self._entry
        if entry is None:
            return f"TokenCache(enabled={self.enabled}, empty)"
        left = max(0.0, entry[1] - _monotonic())
        return f"TokenCache(enabled={self.enabled}, [redacted] for {left:.3f} s)"
