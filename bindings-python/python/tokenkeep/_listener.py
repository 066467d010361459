"""Session events: the :class:`SessionListener` base (override what you need;
the core calls it on its event thread, in order) and ``token_updater``,
requests-oauthlib's hook, which gets each new :class:`tokenkeep.TokenSet`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, cast

from . import ffi
from ._token_set import TokenSet

TokenUpdater = Callable[[TokenSet], Any]


class SessionListener(ffi.SessionListener):
    """Receives the session's events; every method does nothing unless overridden."""

    def on_tokens_changed(self, event: ffi.TokensChanged) -> None:
        """The tokens changed (``event.reason``); ``event.tokens`` holds the new ones."""

    def on_session_expired(self, reason: str) -> None:
        """The session ended: the user must sign in again."""

    def on_refresh_failed(self, failure: ffi.RefreshFailure) -> None:
        """A refresh failed (``failure.transient`` says whether it is retried)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class TokenUpdaterListener(SessionListener):
    """Calls ``token_updater`` with each new token set until muted."""

    def __init__(self, token_updater: TokenUpdater | None) -> None:
        self.token_updater: TokenUpdater | None = token_updater

    def on_tokens_changed(self, event: ffi.TokensChanged) -> None:
        updater = self.token_updater
        if updater is not None and event.tokens is not None:
            try:
                updater(cast(TokenSet, event.tokens))
            except Exception:  # a callback must not break the core's event thread
                logging.getLogger("tokenkeep").exception("token_updater raised; the new tokens were not passed on")
