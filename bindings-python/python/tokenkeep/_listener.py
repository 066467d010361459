"""Plain Python callables as a core ``SessionListener``.

The core calls its listeners on one tokenkeep-owned thread, in order, never
while it holds a lock. :class:`CallbackListener` adapts up to three callables
(``on_tokens_changed``, ``on_session_expired``, ``on_refresh_failed``) onto
that interface and also drops the keeper's token cache when the tokens change
or the session ends. A callable that raises is logged (logger ``tokenkeep``)
and does not stop the others.

The adapter deliberately holds no reference to the ``Keeper``: the core keeps
its listeners alive for as long as the session lives, so a reference back
would keep both alive forever. ``Keeper.close()`` mutes it.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from ._token_cache import TokenCache
from ._uniffi import tokenkeep as _ffi

__all__ = ["CallbackListener"]

_log = logging.getLogger("tokenkeep")

TokensChangedCallback = Callable[[_ffi.TokensChanged], Any]
SessionExpiredCallback = Callable[[str], Any]
RefreshFailedCallback = Callable[[_ffi.RefreshFailure], Any]


class CallbackListener(_ffi.SessionListener):
    """A ``SessionListener`` made of optional callables and a token cache."""

    def __init__(
        self,
        cache: Optional[TokenCache] = None,
        on_tokens_changed: Optional[TokensChangedCallback] = None,
        on_session_expired: Optional[SessionExpiredCallback] = None,
        on_refresh_failed: Optional[RefreshFailedCallback] = None,
    ) -> None:
        self._cache = cache
        self._on_tokens_changed = on_tokens_changed
        self._on_session_expired = on_session_expired
        self._on_refresh_failed = on_refresh_failed

    def mute(self) -> None:
        """Stops calling anything (the keeper was closed)."""
        self._cache = None
        self._on_tokens_changed = self._on_session_expired = self._on_refresh_failed = None

    def on_tokens_changed(self, event: _ffi.TokensChanged) -> None:
        if self._cache is not None:
            self._cache.invalidate()
        _call(self._on_tokens_changed, event)

    def on_session_expired(self, message: str) -> None:
        if self._cache is not None:
            self._cache.invalidate()
        _call(self._on_session_expired, message)

    def on_refresh_failed(self, failure: _ffi.RefreshFailure) -> None:
        _call(self._on_refresh_failed, failure)

    def __repr__(self) -> str:
        return "CallbackListener()"


def _call(callback: Optional[Callable[[Any], Any]], argument: Any) -> None:
    if callback is None:
        return
    try:
        callback(argument)
    except Exception:  # a listener must not break the core's event thread
        _log.exception("a tokenkeep listener callback raised; the event was dropped for it")
