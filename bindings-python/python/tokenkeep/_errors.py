"""The exceptions tokenkeep raises, and the one place they are made.

Every failure of a tokenkeep call is a :class:`TokenKeepError`. Its subclass
says what the caller should do about it, exactly as the Rust core groups its
errors:

=========================  ===============================================
``SessionExpiredError``    the session has ended: send the user to sign in
``NotSignedInError``       there are no tokens: sign in first
``TransientError``         try again later (``retry_after``); tokens are kept
``AuthorizationError``     the sign-in attempt failed: start it again
``ProtocolError``          the server answered something unusable
``ConfigurationError``     fix the configuration (URL, client, origins)
``StorageError``           the token store failed (``kind``); nothing removed
``InternalError``          a bug in tokenkeep: please report it
=========================  ===============================================

The generated bindings raise their own classes (``TokenKeepError.SessionExpired``
and so on, whose text is a field dump); :func:`translated` turns them into
these at the boundary, so this module is the single translation point.
Messages come from the core, which never puts a token, a client secret or a
URL query string in them.

Stores written in Python raise the other direction's error,
:class:`tokenkeep.StoreError` (``StoreError.Io(message=...)`` and so on),
which the core turns into a :class:`StorageError` for the caller.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Awaitable, Callable, Optional, TypeVar, cast

from ._uniffi import tokenkeep as _ffi

__all__ = [
    "TokenKeepError",
    "SessionExpiredError",
    "NotSignedInError",
    "TransientError",
    "AuthorizationError",
    "ProtocolError",
    "ConfigurationError",
    "StorageError",
    "InternalError",
]


class TokenKeepError(Exception):
    """Base class of every tokenkeep error. ``message`` says what happened."""

    #: What the caller should do; the first part of ``str(error)``.
    hint = "tokenkeep error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.hint}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class SessionExpiredError(TokenKeepError):
    """The session has ended (refresh token expired, revoked or reused):
    the user must sign in again. Stored tokens have been removed."""

    hint = "session expired, sign in again"


class NotSignedInError(TokenKeepError):
    """There are no tokens (never signed in, or logged out)."""

    hint = "not signed in"


class TransientError(TokenKeepError):
    """A temporary failure (network, timeout, HTTP 5xx or 429). Tokens are
    kept; the same call may succeed later, after ``retry_after`` seconds when
    the server said how long to wait."""

    hint = "temporary failure, try again later"

    def __init__(self, message: str, retry_after: Optional[int] = None) -> None:
        super().__init__(message)
        #: Seconds the server asked to wait (``Retry-After``), or ``None``.
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"TransientError({self.message!r}, retry_after={self.retry_after!r})"


class AuthorizationError(TokenKeepError):
    """The sign-in (authorization code) attempt failed: denied, a ``state``
    mismatch or a bad callback URL. Start the sign-in again."""

    hint = "sign-in failed"


class ProtocolError(TokenKeepError):
    """The server answered something tokenkeep cannot use."""

    hint = "unusable answer from the server"


class ConfigurationError(TokenKeepError):
    """The configuration is wrong (bad URL, plain HTTP to a non-loopback host,
    rejected client credentials, a request to an origin not in
    ``api_origins``)."""

    hint = "configuration error"


class StorageError(TokenKeepError):
    """The token store failed; nothing in it was removed. ``kind`` is a
    :class:`tokenkeep.StorageErrorKind` (``IO``, ``WRONG_KEY``, ``CORRUPT``,
    ``LOCK_TIMEOUT``, ``OTHER``)."""

    hint = "token store error"

    def __init__(self, message: str, kind: "_ffi.StorageErrorKind" = _ffi.StorageErrorKind.OTHER) -> None:
        super().__init__(message)
        #: Which kind of storage failure.
        self.kind = kind

    def __repr__(self) -> str:
        return f"StorageError({self.message!r}, kind={self.kind!r})"


class InternalError(TokenKeepError):
    """A bug in tokenkeep (for example a caught panic). Please report it."""

    hint = "internal error in tokenkeep"


# The generated variants are attributes set at import time (invisible to type checkers).
_Generated: Any = _ffi.TokenKeepError

_PLAIN = {
    _Generated.SessionExpired: SessionExpiredError,
    _Generated.NotSignedIn: NotSignedInError,
    _Generated.Authorization: AuthorizationError,
    _Generated.Protocol: ProtocolError,
    _Generated.Configuration: ConfigurationError,
    _Generated.Internal: InternalError,
}


def translate(error: BaseException) -> TokenKeepError:
    """The :class:`TokenKeepError` for an exception raised by the generated code."""
    if isinstance(error, _Generated.Transient):
        return TransientError(error.message, retry_after=error.retry_after_secs)
    if isinstance(error, _Generated.Storage):
        return StorageError(error.message, kind=error.kind)
    plain = _PLAIN.get(type(error))
    if plain is not None:
        return plain(cast(Any, error).message)
    # uniffi's own InternalError (a panic or an unexpected callback failure).
    return InternalError(str(error) or type(error).__name__)


_RAISED_BY_CORE = (_ffi.TokenKeepError, _ffi.InternalError)

F = TypeVar("F", bound=Callable[..., Any])


def translated(func: F) -> F:
    """Decorates a function (or coroutine function) that calls the core so
    that it raises :class:`TokenKeepError` subclasses."""
    if inspect.iscoroutinefunction(func):
        async_func = cast(Callable[..., Awaitable[Any]], func)

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await async_func(*args, **kwargs)
            except _RAISED_BY_CORE as error:
                raise translate(error) from None

        return cast(F, async_wrapper)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _RAISED_BY_CORE as error:
            raise translate(error) from None

    return cast(F, wrapper)
