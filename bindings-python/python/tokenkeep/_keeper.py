"""``TokenKeeper``: one account's OAuth 2.0 tokens, kept valid by the Rust core.

The generated ``tokenkeep.ffi.TokenKeeper`` is the whole engine; this class
adapts it to Python: blocking calls under the core's names, each network call
with an ``_async`` coroutine twin; the token cache (``_token_cache``, emptied
by the core); ``token_updater``; ``with``/``async with``; :meth:`close` and
interpreter exit store tokens held only in memory. Errors are the core's.
"""

from __future__ import annotations

import atexit
import json
import logging
import weakref
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional, Sequence, Union
from urllib.parse import urlsplit

from . import ffi
from ._errors import BadResponseError
from ._listener import TokenUpdater, TokenUpdaterListener
from . import _logging
from ._logging import sync_log_level
from ._shared_call import SharedCalls
from ._token_cache import TokenCache
from ._token_set import TokenSet

Seconds = Union[int, float, timedelta]
_open_keepers: "weakref.WeakSet[TokenKeeper]" = weakref.WeakSet()


class TokenKeeper:
    """Keeps one account's tokens valid (refresh ahead, single flight,
    rotation, store, retries). Made from a ``TokenKeeperOptions`` or its
    fields as keywords; ``token_updater(tokens)`` gets each new token set."""

    def __init__(
        self,
        options: Optional[ffi.TokenKeeperOptions] = None,
        *,
        token_updater: Optional[TokenUpdater] = None,
        **fields: Any,
    ) -> None:
        if options is None:
            options = ffi.TokenKeeperOptions(**fields)
        elif fields:
            raise TypeError("pass either a TokenKeeperOptions or its fields as keywords, not both")
        if isinstance(options.api_origins, str):
            raise TypeError("api_origins takes a list of origins, not one string: api_origins=[...]")
        if isinstance(options.store, (ffi.EncryptedFileStore, ffi.SqliteStore)):
            options.store = options.store.as_token_store()
        sync_log_level()
        self._core: Any = ffi.TokenKeeper(options)
        self._updater = TokenUpdaterListener(token_updater)
        if token_updater is not None:
            self._core.add_listener(self._updater)
        self._cache = TokenCache(enabled=options.clock is None)  # leases ignore a manual clock
        self._destinations: dict[tuple[str, str], bool] = {}
        self._core.set_token_cache(self._cache)
        self._shared = SharedCalls()  # one native wait per loop for concurrent *_async callers
        _open_keepers.add(self)

    def access_token(self) -> str:
        """A valid access token, refreshed first if due. Sensitive: never log it."""
        token = self._cache.get()
        if token is None:
            ticket = self._cache.ticket()
            lease = self.core.access_token_lease_blocking()
            token = self._cache.put(ticket, lease.access_token(), lease.valid_for_ms())
        return token

    async def access_token_async(self) -> str:
        token = self._cache.get()
        if token is None:
            token = await self._shared.join(("access_token",), self._leased_token)
        return token

    async def _leased_token(self) -> str:
        ticket = self._cache.ticket()
        lease = await self.core.access_token_lease()
        return self._cache.put(ticket, lease.access_token(), lease.valid_for_ms())

    def valid_tokens(self, min_ttl: Seconds = 0) -> TokenSet:
        """Tokens whose access token stays valid for at least ``min_ttl`` seconds."""
        return self.core.valid_tokens_blocking(_seconds(min_ttl))

    async def valid_tokens_async(self, min_ttl: Seconds = 0) -> TokenSet:
        seconds = _seconds(min_ttl)
        return await self._shared.join(("valid_tokens", seconds), lambda: self.core.valid_tokens(seconds))

    def refresh(self) -> TokenSet:
        """Refreshes now (or joins the refresh in flight) and returns the new tokens."""
        return self.core.refresh_blocking()

    async def refresh_async(self) -> TokenSet:
        return await self._shared.join(("refresh",), self.core.refresh)

    def refresh_if_rejected(self, rejected_access_token: str) -> TokenSet:
        """The tokens to retry with after an HTTP 401 to ``rejected_access_token``
        (already renewed ones, or one refresh for any number of 401s)."""
        return self.core.refresh_if_rejected_blocking(rejected_access_token)

    async def refresh_if_rejected_async(self, rejected_access_token: str) -> TokenSet:
        return await self._shared.join(
            ("refresh_if_rejected", rejected_access_token),
            lambda: self.core.refresh_if_rejected(rejected_access_token),
        )

    def send(self, request: ffi.HttpRequest) -> ffi.HttpResponse:
        """Sends a request to ``api_origins`` with the token; on HTTP 401 refreshes and retries once."""
        return self.core.send_blocking(request)

    async def send_async(self, request: ffi.HttpRequest) -> ffi.HttpResponse:
        return await self.core.send(request)

    def logout(self) -> ffi.LogoutOutcome:
        """Forgets the tokens here and in the store, then revokes them at the server."""
        return self.core.logout_blocking()

    async def logout_async(self) -> ffi.LogoutOutcome:
        return await self.core.logout()

    def complete_authorization(self, request: ffi.AuthorizationRequest, callback_url: str) -> TokenSet:
        """Finishes a PKCE sign-in from the redirect URL (checks ``state``, exchanges the code)."""
        return self.core.complete_authorization_blocking(request, callback_url)

    async def complete_authorization_async(self, request: ffi.AuthorizationRequest, callback_url: str) -> TokenSet:
        return await self.core.complete_authorization(request, callback_url)

    def exchange_code(self, code: str, code_verifier: str) -> TokenSet:
        """Exchanges an authorization code with its PKCE verifier."""
        return self.core.exchange_code_blocking(code, code_verifier)

    async def exchange_code_async(self, code: str, code_verifier: str) -> TokenSet:
        return await self.core.exchange_code(code, code_verifier)

    def start_device_authorization(self) -> ffi.DeviceAuthorization:
        """Starts a sign-in on a device without a browser (RFC 8628)."""
        return self.core.start_device_authorization_blocking()

    async def start_device_authorization_async(self) -> ffi.DeviceAuthorization:
        return await self.core.start_device_authorization()

    def complete_device_authorization(self, device: ffi.DeviceAuthorization) -> TokenSet:
        """Polls until the user approves the device sign-in, then keeps the tokens."""
        return self.core.complete_device_authorization_blocking(device)

    async def complete_device_authorization_async(self, device: ffi.DeviceAuthorization) -> TokenSet:
        return await self.core.complete_device_authorization(device)

    def set_tokens(
        self,
        access_token: str,
        refresh_token: Optional[str] = None,
        expires_in: Optional[Seconds] = None,
        expires_at: Optional[datetime] = None,
        scope: Union[str, Sequence[str], None] = None,
    ) -> TokenSet:
        """Hands over tokens expiring ``expires_in`` (seconds, timedelta) from now or at ``expires_at``."""
        scope = scope if scope is None or isinstance(scope, str) else " ".join(scope)
        seconds = None if expires_in is None else _seconds(expires_in)
        return self.core.set_tokens(access_token, refresh_token, seconds, expires_at, scope)

    def set_token_response(self, response: Union[Mapping[str, Any], str, bytes]) -> TokenSet:
        """Hands over a token endpoint's answer (RFC 6749 §5.1): a dict, its JSON text or UTF-8 bytes."""
        if isinstance(response, Mapping):
            return self.core.set_token_response(json.dumps(dict(response)))
        if not isinstance(response, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"set_token_response takes a dict, str or bytes, not {type(response).__name__}; "
                            "with requests or httpx, pass response.json()")
        try:  # the text is checked here, and refused without quoting it (it holds tokens)
            text = response.encode().decode() if isinstance(response, str) else bytes(response).decode()
        except UnicodeError:
            text = None
        if text is None:
            raise BadResponseError(detail="the token response handed to set_token_response is not UTF-8 text "
                                   "(not shown); pass the body as the server sent it", oauth_error=None)
        return self.core.set_token_response(text)

    def authorization_request(
        self, extra_params: Optional[Mapping[str, str]] = None, **params: str
    ) -> ffi.AuthorizationRequest:
        """Starts a PKCE sign-in: open ``.url()``; keywords are added to it (``login_hint=...``)."""
        return self.core.authorization_request({**(extra_params or {}), **params})

    def may_send_token_to(self, url: str) -> bool:
        """Whether ``url`` may receive the token: the core's answer, kept per scheme and authority."""
        try:
            key = urlsplit(url)[:2]
        except ValueError:  # not a URL Python can split: the core says why not
            return bool(self.core.may_send_token_to(url))
        allowed = self._destinations.get(key)
        if allowed is None:
            if len(self._destinations) >= 256:
                self._destinations.clear()
            allowed = self._destinations[key] = bool(self.core.may_send_token_to(url))
        return allowed

    def add_listener(self, listener: ffi.SessionListener) -> None:
        """Adds a :class:`tokenkeep.SessionListener` (it lives as long as the session)."""
        self.core.add_listener(listener)

    def tokens(self) -> Optional[TokenSet]:
        """The current tokens (may be expired), without a network call."""
        return self.core.tokens()

    def state(self) -> ffi.SessionState:
        return self.core.state()

    def account_id(self) -> str:
        return str(self.core.account_id())

    def api_origins(self) -> list[str]:
        return list(self.core.api_origins())

    def has_unsaved_tokens(self) -> bool:
        """Whether a refresh's tokens could not be stored yet (the core keeps trying)."""
        return bool(self.core.has_unsaved_tokens())

    def flush(self) -> None:
        """Stores tokens held only in memory now; raises ``StorageError`` if the store still fails."""
        self.core.flush()

    @property
    def closed(self) -> bool:
        return self._core is None

    @property
    def core(self) -> Any:
        """The generated ``tokenkeep.ffi.TokenKeeper``."""
        if self._core is None:
            raise ValueError("this TokenKeeper is closed")
        return self._core

    def close(self) -> None:
        """Stores tokens held only in memory (a failure is logged) and lets go of the core. Does not log out."""
        core, self._core = self._core, None
        if core is not None:
            self._updater.token_updater = None
            self._cache.enabled = False
            self._cache.invalidate()
            _flush_quietly(core, "at close")

    def __enter__(self) -> "TokenKeeper":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> "TokenKeeper":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._core is None:
            return "TokenKeeper(closed)"
        return f"TokenKeeper(account_id={self._core.account_id()!r}, state={self._core.state().name})"


def _seconds(value: Seconds) -> int:
    return int(value.total_seconds() if isinstance(value, timedelta) else value)


def _flush_quietly(core: Any, when: str) -> None:
    try:
        if core.has_unsaved_tokens():
            core.flush()
    except Exception as error:  # closing and exiting must not raise
        logging.getLogger("tokenkeep").error("tokens held only in memory could not be stored %s: %s", when, error)


@atexit.register
def _at_exit() -> None:
    """Flushes open keepers, stops the log bridge, then drains the event queue
    once (an event delivered into a finalizing interpreter aborts it)."""
    for keeper in list(_open_keepers):
        if keeper._core is not None:
            _flush_quietly(keeper._core, "at exit")
    _logging.uninstall()
    ffi.flush_listener_events(2000)
