"""The fast path: the access token kept in Python until a deadline the core hands out.

A call across FFI costs microseconds, a cached token an attribute read.
``access_token_lease`` says how long its token may be served (until due for
refresh, at most 60 s); the core calls :meth:`TokenCache.invalidate` (its
``TokenCache`` hook) synchronously whenever the tokens change, a refresh fails,
the session ends or a token is rejected. A lease asked for before an
invalidation is not kept after it (the ticket's generation).
"""

from __future__ import annotations

import threading
import time
from typing import Optional, Tuple

from . import ffi

_monotonic = time.monotonic


class TokenCache(ffi.TokenCache):
    """One access token and the monotonic time until which it may be served."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entry: Optional[Tuple[str, float]] = None
        self._generation = 0
        self._lock = threading.Lock()

    def get(self) -> Optional[str]:
        """The cached token, or ``None`` when there is none or its lease ran out."""
        entry = self._entry
        return entry[0] if entry is not None and _monotonic() < entry[1] else None

    def ticket(self) -> Tuple[int, float]:
        """Taken before asking the core: the generation and the start time."""
        return self._generation, _monotonic()

    def put(self, ticket: Tuple[int, float], token: str, valid_for_ms: int) -> str:
        """Keeps ``token`` for ``valid_for_ms`` (the core's lease) from the
        ticket's time, unless invalidated since (or disabled); returns it."""
        with self._lock:
            if self.enabled and valid_for_ms > 0 and ticket[0] == self._generation:
                self._entry = (token, ticket[1] + valid_for_ms / 1000.0)
        return token

    def invalidate(self) -> None:
        """Forgets the token (called by the core); older leases are not stored after this."""
        with self._lock:
            self._generation += 1
            self._entry = None

    def __repr__(self) -> str:
        return f"TokenCache({'empty' if self.get() is None else '[redacted]'})"
