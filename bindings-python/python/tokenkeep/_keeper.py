"""``Keeper``: one account's OAuth 2.0 tokens, kept valid by the Rust core.

:class:`Keeper` wraps the generated ``TokenKeeper`` with keyword arguments,
Python exceptions, properties and context-manager support. Everything that
decides anything (when to refresh, single flight, rotation, storage, retries)
happens in the core; this class adds only what Python needs:

* blocking methods by default (``access_token()`` returns a ``str``) and an
  ``_async`` coroutine twin for every network call, which awaits the core's
  future without blocking the event loop;
* the token cache of :mod:`tokenkeep._token_cache` on the fresh-token path;
* listeners as plain callables;
* errors as :class:`tokenkeep.TokenKeepError` subclasses.

Example::

    with tokenkeep.Keeper(token_endpoint="https://auth.example.com/oauth/token",
                          client_id="my-app",
                          api_origins=["https://api.example.com"]) as keeper:
        keeper.set_token_response(answer_of_sign_in)   # dict or JSON text
        headers = {"Authorization": f"Bearer {keeper.access_token()}"}
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from ._errors import ProtocolError, translate, translated
from ._listener import (
    CallbackListener,
    RefreshFailedCallback,
    SessionExpiredCallback,
    TokensChangedCallback,
)
from ._origins import OriginPolicy
from ._logging import sync_log_level as _sync_log_level
from ._shutdown import register as _tidy_up_at_exit
from ._token_cache import TokenCache
from ._uniffi import tokenkeep as _ffi

__all__ = ["Keeper"]

Seconds = Union[int, float, timedelta]


class Keeper:
    """Keeps one account's OAuth 2.0 tokens valid.

    Refreshes before expiry while still serving the current token, makes any
    number of concurrent callers (threads or tasks) share one refresh,
    replaces both tokens after every refresh, keeps them in ``store``,
    retries transient failures, and raises :class:`SessionExpiredError` when
    the user must sign in again.

    :param token_endpoint: the token endpoint (HTTPS, or HTTP to a loopback host).
    :param client_id: the client identifier.
    :param client_secret: the client secret of a confidential client (never shown).
    :param account_id: the account's key in ``store``.
    :param store: where tokens live between runs (default: in memory). A
        :class:`tokenkeep.EncryptedFileStore`, :class:`tokenkeep.SqliteStore`,
        a :class:`tokenkeep.TokenStore` subclass, :class:`tokenkeep.KeyringStore`
        or ``tokenkeep.memory_store()``.
    :param policy: when to refresh and how to retry (:class:`tokenkeep.RefreshPolicy`).
    :param scopes: scopes to request (sign-in and client_credentials).
    :param api_origins: origins (``https://api.example.com``) the token may be sent to.
    :param authorization_endpoint: for sign-in with PKCE.
    :param revocation_endpoint: called on :meth:`logout` (RFC 7009).
    :param device_authorization_endpoint: for sign-in on devices without a browser (RFC 8628).
    :param redirect_uri: the redirect URI of sign-in with PKCE.
    :param auth_method: how the client authenticates (:class:`tokenkeep.ClientAuthMethod`).
    :param extra_token_params: extra form parameters for every token request.
    :param client_credentials: get tokens with the client_credentials grant.
    :param response_mapping: field names of a server with its own response shape.
    :param unexplained_refusal_ends_session: an HTTP 400/401 without an RFC 6749
        §5.2 error body, answered to a refresh, ends the session (the default);
        ``False`` for a server that answers so for passing trouble.
    :param clock: a :class:`tokenkeep.ManualClock` for tests (turns the cache off).
    :param on_tokens_changed: called with a :class:`tokenkeep.TokensChanged`.
    :param on_session_expired: called with a message when the session ends.
    :param on_refresh_failed: called with a :class:`tokenkeep.RefreshFailure`.
    :param cache: keep the token in Python until the core's lease runs out
        (the default; off with a manual clock).

    Listener callables run on one tokenkeep-owned thread, one event at a
    time, never while tokenkeep holds a lock: keep them short (hand slow
    work to a queue). An exception in one is logged (logger ``tokenkeep``).
    """

    def __init__(
        self,
        token_endpoint: str,
        client_id: str,
        *,
        client_secret: Optional[str] = None,
        account_id: str = "default",
        store: Optional[Union[_ffi.TokenStore, _ffi.EncryptedFileStore, _ffi.SqliteStore]] = None,
        policy: Optional[_ffi.RefreshPolicy] = None,
        scopes: Sequence[str] = (),
        api_origins: Sequence[str] = (),
        authorization_endpoint: Optional[str] = None,
        revocation_endpoint: Optional[str] = None,
        device_authorization_endpoint: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        auth_method: Optional[_ffi.ClientAuthMethod] = None,
        extra_token_params: Optional[Mapping[str, str]] = None,
        client_credentials: bool = False,
        response_mapping: Optional[_ffi.ResponseMapping] = None,
        unexplained_refusal_ends_session: bool = True,
        clock: Optional[_ffi.ManualClock] = None,
        on_tokens_changed: Optional[TokensChangedCallback] = None,
        on_session_expired: Optional[SessionExpiredCallback] = None,
        on_refresh_failed: Optional[RefreshFailedCallback] = None,
        cache: bool = True,
    ) -> None:
        if isinstance(scopes, str) or isinstance(api_origins, str):
            raise TypeError("scopes and api_origins are sequences of strings, not a single string")
        config = _ffi.ClientConfig(
            token_endpoint=token_endpoint,
            client_id=client_id,
            authorization_endpoint=authorization_endpoint,
            revocation_endpoint=revocation_endpoint,
            device_authorization_endpoint=device_authorization_endpoint,
            redirect_uri=redirect_uri,
            scopes=list(scopes),
            auth_method=auth_method,
            extra_token_params=dict(extra_token_params or {}),
            api_origins=list(api_origins),
            client_credentials=client_credentials,
            response_mapping=response_mapping,
            unexplained_refusal_ends_session=unexplained_refusal_ends_session,
        )
        self._cache = TokenCache(enabled=cache and clock is None)
        self._listeners = [CallbackListener(self._cache, on_tokens_changed, on_session_expired, on_refresh_failed)]
        builder = _ffi.TokenKeeperBuilder(config).account_id(account_id)
        if client_secret is not None:
            builder = builder.client_secret(client_secret)
        if policy is not None:
            builder = builder.policy(policy)
        if isinstance(store, (_ffi.EncryptedFileStore, _ffi.SqliteStore)):
            store = store.as_token_store()
        if store is not None:
            builder = builder.store(store)
        if clock is not None:
            builder = builder.manual_clock(clock)
        builder = builder.listener(self._listeners[0])
        _sync_log_level()
        self._core: Optional[_ffi.TokenKeeper] = _build(builder)
        _tidy_up_at_exit(self)
        self._origins = OriginPolicy(api_origins)  # the core accepted them: they parse

    # -- the fresh-token path -------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, refreshing first if it expired (all callers
        share one refresh). Sensitive: send it, never log it.

        :raises SessionExpiredError: the user must sign in again.
        :raises NotSignedInError: there are no tokens.
        :raises TransientError: the refresh failed for now; try later.
        """
        token = self._cache.get()
        if token is not None:
            return token
        return self._access_token_from_core()

    async def access_token_async(self) -> str:
        """Coroutine twin of :meth:`access_token`; never blocks the event loop."""
        token = self._cache.get()
        if token is not None:
            return token
        return await self._access_token_from_core_async()

    @translated
    def _access_token_from_core(self) -> str:
        if not self._cache.enabled:
            return self.core.access_token_blocking()  # one FFI call instead of a lease's three
        ticket = self._cache.ticket()
        lease = self.core.access_token_lease_blocking()
        token = lease.access_token()
        self._cache.put(ticket, token, lease.valid_for_ms())
        return token

    @translated
    async def _access_token_from_core_async(self) -> str:
        if not self._cache.enabled:
            return await self.core.access_token()
        ticket = self._cache.ticket()
        lease = await self.core.access_token_lease()
        token = lease.access_token()
        self._cache.put(ticket, token, lease.valid_for_ms())
        return token

    # -- network calls ----------------------------------------------------------

    @translated
    def valid_tokens(self, min_ttl: Seconds = 0) -> _ffi.TokenSet:
        """Tokens whose access token stays valid for at least ``min_ttl``
        seconds (refreshing first if needed)."""
        return self.core.valid_tokens_blocking(_whole_seconds(min_ttl))

    @translated
    async def valid_tokens_async(self, min_ttl: Seconds = 0) -> _ffi.TokenSet:
        """Coroutine twin of :meth:`valid_tokens`."""
        return await self.core.valid_tokens(_whole_seconds(min_ttl))

    @translated
    def refresh(self) -> _ffi.TokenSet:
        """Refreshes now (or joins the refresh in flight) and returns the new tokens."""
        try:
            return self.core.refresh_blocking()
        finally:
            self._cache.invalidate()

    @translated
    async def refresh_async(self) -> _ffi.TokenSet:
        """Coroutine twin of :meth:`refresh`."""
        try:
            return await self.core.refresh()
        finally:
            self._cache.invalidate()

    @translated
    def refresh_rejected(self, rejected_token: str) -> str:
        """The token to retry with after a server answered HTTP 401 to
        ``rejected_token``: the current one if it already changed (someone
        else refreshed), otherwise a refreshed one. What the requests and
        httpx integrations call; the core makes it one refresh for any
        number of rejections."""
        self._cache.invalidate()
        try:
            return self.core.refresh_if_rejected_blocking(rejected_token).access_token()
        finally:
            self._cache.invalidate()

    @translated
    async def refresh_rejected_async(self, rejected_token: str) -> str:
        """Coroutine twin of :meth:`refresh_rejected`."""
        self._cache.invalidate()
        try:
            return (await self.core.refresh_if_rejected(rejected_token)).access_token()
        finally:
            self._cache.invalidate()

    @translated
    def start_device_authorization(self) -> _ffi.DeviceAuthorization:
        """Starts a sign-in on a device without a browser (RFC 8628): show
        the user ``user_code()`` and ``verification_uri()``, then call
        :meth:`complete_device_authorization`."""
        return self.core.start_device_authorization_blocking()

    @translated
    async def start_device_authorization_async(self) -> _ffi.DeviceAuthorization:
        """Coroutine twin of :meth:`start_device_authorization`."""
        return await self.core.start_device_authorization()

    @translated
    def complete_device_authorization(self, device: _ffi.DeviceAuthorization) -> _ffi.TokenSet:
        """Polls until the user approves the device sign-in, then stores the
        tokens. Raises :class:`AuthorizationError` if the user denies it, the
        code expires, or ``device.cancel()`` is called."""
        try:
            return self.core.complete_device_authorization_blocking(device)
        finally:
            self._cache.invalidate()

    @translated
    async def complete_device_authorization_async(self, device: _ffi.DeviceAuthorization) -> _ffi.TokenSet:
        """Coroutine twin of :meth:`complete_device_authorization`."""
        try:
            return await self.core.complete_device_authorization(device)
        finally:
            self._cache.invalidate()

    @translated
    def logout(self) -> _ffi.LogoutOutcome:
        """Forgets the tokens here and in the store, then revokes them if a
        revocation endpoint is configured (the refresh token first, then the
        access token). Returns what the server confirmed for each
        (:class:`tokenkeep.LogoutOutcome`: ``refresh_token``, ``access_token``,
        ``fully_revoked``)."""
        try:
            return self.core.logout_blocking()
        finally:
            self._cache.invalidate()

    @translated
    async def logout_async(self) -> _ffi.LogoutOutcome:
        """Coroutine twin of :meth:`logout`."""
        try:
            return await self.core.logout()
        finally:
            self._cache.invalidate()

    @translated
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        body: Optional[bytes] = None,
    ) -> _ffi.HttpResponse:
        """Sends a request through the core with the access token; on HTTP
        401 refreshes and retries once. ``url``'s origin must be in
        ``api_origins``. For apps without their own HTTP client; with
        requests or httpx, use :mod:`tokenkeep.requests_auth` or
        :mod:`tokenkeep.httpx_auth`."""
        return self.core.send_blocking(_http_request(method, url, headers, body))

    @translated
    async def send_async(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        body: Optional[bytes] = None,
    ) -> _ffi.HttpResponse:
        """Coroutine twin of :meth:`send`."""
        return await self.core.send(_http_request(method, url, headers, body))

    # -- handing tokens over, signing in -------------------------------------

    @translated
    def set_tokens(
        self,
        access_token: str,
        refresh_token: Optional[str] = None,
        expires_in: Optional[Seconds] = None,
        scope: Union[str, Sequence[str], None] = None,
    ) -> _ffi.TokenSet:
        """Hands over tokens obtained elsewhere; they are stored and used from now on."""
        try:
            return self.core.set_tokens(
                access_token,
                refresh_token,
                None if expires_in is None else _whole_seconds(expires_in),
                scope if scope is None or isinstance(scope, str) else " ".join(scope),
            )
        finally:
            self._cache.invalidate()

    @translated
    def set_token_response(self, response: Union[Mapping[str, Any], str, bytes]) -> _ffi.TokenSet:
        """Hands over a token endpoint's answer (RFC 6749 §5.1): a dict (any
        mapping), its JSON text, or that text as UTF-8 bytes, read with the
        configured response mapping.

        Anything else is a :class:`TypeError` that names only its type; bytes
        that are not UTF-8 (or text that cannot be encoded) are a
        :class:`ProtocolError` that quotes nothing of the answer."""
        text = _token_response_text(response)
        try:
            return self.core.set_token_response(text)
        finally:
            self._cache.invalidate()

    @translated
    def authorization_request(
        self, extra_params: Optional[Mapping[str, str]] = None, **params: str
    ) -> _ffi.AuthorizationRequest:
        """Starts a sign-in: ``.url()`` to open, with PKCE S256 and ``state``.
        Keyword arguments are added to the URL (``login_hint=...``, ``prompt=...``)."""
        merged: Dict[str, str] = dict(extra_params or {})
        merged.update(params)
        return self.core.authorization_request(merged)

    @translated
    def complete_authorization(self, request: _ffi.AuthorizationRequest, callback_url: str) -> _ffi.TokenSet:
        """Finishes a sign-in from the URL the browser was redirected to
        (checks ``state``, exchanges the code)."""
        try:
            return self.core.complete_authorization_blocking(request, callback_url)
        finally:
            self._cache.invalidate()

    @translated
    async def complete_authorization_async(
        self, request: _ffi.AuthorizationRequest, callback_url: str
    ) -> _ffi.TokenSet:
        """Coroutine twin of :meth:`complete_authorization`."""
        try:
            return await self.core.complete_authorization(request, callback_url)
        finally:
            self._cache.invalidate()

    @translated
    def exchange_code(self, code: str, code_verifier: str) -> _ffi.TokenSet:
        """Exchanges an authorization code with its PKCE verifier (for apps
        that kept ``state`` and the verifier across a restart)."""
        try:
            return self.core.exchange_code_blocking(code, code_verifier)
        finally:
            self._cache.invalidate()

    @translated
    async def exchange_code_async(self, code: str, code_verifier: str) -> _ffi.TokenSet:
        """Coroutine twin of :meth:`exchange_code`."""
        try:
            return await self.core.exchange_code(code, code_verifier)
        finally:
            self._cache.invalidate()

    # -- reading the session -------------------------------------------------

    @property
    def tokens(self) -> Optional[_ffi.TokenSet]:
        """The current tokens, without any network call (may be expired)."""
        return self.core.tokens()

    @property
    def has_unsaved_tokens(self) -> bool:
        """Whether the tokens in memory are newer than the store's copy: a
        refresh succeeded but storing its tokens failed (disk full, a locked
        keyring). They are served, and the core keeps trying to store them;
        :meth:`flush` tries now."""
        return self.core.has_unsaved_tokens()

    @translated
    def flush(self) -> None:
        """Stores tokens held only in memory now (see :attr:`has_unsaved_tokens`).

        Does nothing when nothing is pending; raises :class:`StorageError`
        when the store still fails. :meth:`close` and interpreter exit call it."""
        self.core.flush()

    @property
    def state(self) -> _ffi.SessionState:
        """The session's :class:`tokenkeep.SessionState` now."""
        return self.core.state()

    @property
    def account_id(self) -> str:
        """The account id (store key) of this session."""
        return self.core.account_id()

    @property
    def origins(self) -> OriginPolicy:
        """The origins the token may be sent to (what the HTTP integrations check)."""
        return self._origins

    @property
    def core(self) -> _ffi.TokenKeeper:
        """The generated ``TokenKeeper`` (raises generated exceptions, no cache)."""
        core = self._core
        if core is None:
            raise ValueError("this Keeper is closed")
        return core

    def add_listener(
        self,
        *,
        on_tokens_changed: Optional[TokensChangedCallback] = None,
        on_session_expired: Optional[SessionExpiredCallback] = None,
        on_refresh_failed: Optional[RefreshFailedCallback] = None,
    ) -> None:
        """Registers more callables for the session's events."""
        listener = CallbackListener(None, on_tokens_changed, on_session_expired, on_refresh_failed)
        self.core.add_listener(listener)
        self._listeners.append(listener)

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Releases the session: stores tokens held only in memory (see
        :meth:`flush`; a failure is logged on the ``tokenkeep`` logger, and the
        core tries once more as it is freed), mutes listeners, drops the
        cached token and the core object. Does not log out. Idempotent."""
        core = self._core
        if core is not None and core.has_unsaved_tokens():
            try:
                core.flush()
            except Exception as error:  # noqa: BLE001 - closing must not raise
                logging.getLogger("tokenkeep").warning(
                    "tokens held only in memory could not be stored at close: %s", translate(error)
                )
        for listener in self._listeners:
            listener.mute()
        self._cache.invalidate()
        self._cache.enabled = False
        self._core = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._core is None

    def __enter__(self) -> "Keeper":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> "Keeper":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        core = getattr(self, "_core", None)
        if core is None:
            return "Keeper(closed)"
        return f"Keeper(account_id={core.account_id()!r}, state={core.state().name})"


@translated
def _build(builder: _ffi.TokenKeeperBuilder) -> _ffi.TokenKeeper:
    return builder.build()


def _whole_seconds(value: Seconds) -> int:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return int(seconds)


def _http_request(
    method: str, url: str, headers: Optional[Mapping[str, str]], body: Optional[bytes]
) -> _ffi.HttpRequest:
    return _ffi.HttpRequest(
        method=method,
        url=url,
        headers=[_ffi.HttpHeader(name=name, value=value) for name, value in (headers or {}).items()],
        body=body,
    )


def _token_response_text(response: object) -> str:
    """The JSON text of a token endpoint answer handed to
    :meth:`Keeper.set_token_response`. Errors never quote the answer (it
    holds tokens), nor chain an exception that does."""
    if isinstance(response, (bytes, bytearray, memoryview)):
        text = _utf8_or_none(bytes(response))
    elif isinstance(response, str):
        text = response if _encodes_as_utf8(response) else None
    elif isinstance(response, Mapping):
        return json.dumps(dict(response))
    else:
        raise TypeError(
            "set_token_response takes the token endpoint's answer as a dict, its JSON text (str) or "
            f"UTF-8 bytes, not {type(response).__name__}; with requests or httpx, pass response.json()"
        )
    if text is None:
        raise ProtocolError(
            "the token endpoint's answer handed to set_token_response is not valid UTF-8 text "
            "(its content is not shown); pass the response body as the server sent it"
        )
    return text


def _utf8_or_none(data: bytes) -> Optional[str]:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _encodes_as_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
