"""tokenkeep: OAuth 2.0 access tokens kept valid by one Rust core.

Hand tokenkeep a token response (or sign in through it with PKCE, or give it
client credentials) and from then on ask it for a valid access token::

    import tokenkeep

    keeper = tokenkeep.Keeper(
        token_endpoint="https://auth.example.com/oauth/token",
        client_id="my-app",
        api_origins=["https://api.example.com"],
    )
    keeper.set_token_response({"access_token": "...", "refresh_token": "...",
                               "expires_in": 3600, "token_type": "Bearer"})
    token = keeper.access_token()              # str; refreshed when due
    token = await keeper.access_token_async()  # the same, in asyncio code

It refreshes ahead of expiry, makes concurrent callers share one refresh,
replaces both tokens after every refresh (rotation), keeps them in a store,
retries transient failures, and raises :class:`SessionExpiredError` when the
user must sign in again. No token appears in any message or ``repr``.

* :class:`Keeper`: what apps hold.
* :mod:`tokenkeep.requests_auth`, :mod:`tokenkeep.httpx_auth`: HTTP integrations.
* :class:`TokenStore`, :class:`KeyringStore`, :func:`memory_store`: stores.
* :class:`TokenKeepError` and its subclasses: every failure, by what to do.
* :class:`ManualClock`: time travel for tests.
* Logging: the core's log lines go to logger ``tokenkeep`` (see
  :func:`sync_log_level` after changing its level).

The objects below that come from the generated bindings (``TokenSet``,
``RefreshPolicy``, ``SessionState``, ...) are re-exported unchanged.
"""

from importlib import metadata as _metadata

from ._errors import (
    AuthorizationError,
    ConfigurationError,
    InternalError,
    NotSignedInError,
    ProtocolError,
    SessionExpiredError,
    StorageError,
    TokenKeepError,
    TransientError,
)
from ._keeper import Keeper
from ._logging import install as _install_log_sink
from ._logging import sync_log_level
from ._stores import KeyringStore, StoreError, TokenStore
from ._uniffi.tokenkeep import (
    AuthorizationRequest,
    ChangeReason,
    ClientAuthMethod,
    DeviceAuthorization,
    EncryptedFileStore,
    HttpHeader,
    HttpResponse,
    LogoutOutcome,
    ManualClock,
    RefreshFailure,
    RefreshPolicy,
    ResponseMapping,
    SessionState,
    SqliteStore,
    StorageErrorKind,
    TokenRevocation,
    TokenSet,
    TokensChanged,
    camel_case_response_mapping,
    memory_store,
)

_install_log_sink()

try:
    __version__: str = _metadata.version("tokenkeep")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Keeper",
    # errors
    "TokenKeepError",
    "SessionExpiredError",
    "NotSignedInError",
    "TransientError",
    "AuthorizationError",
    "ProtocolError",
    "ConfigurationError",
    "StorageError",
    "InternalError",
    "StorageErrorKind",
    # stores
    "TokenStore",
    "KeyringStore",
    "EncryptedFileStore",
    "SqliteStore",
    "StoreError",
    "memory_store",
    # configuration
    "RefreshPolicy",
    "ClientAuthMethod",
    "ResponseMapping",
    "camel_case_response_mapping",
    "ManualClock",
    # what the session hands out
    "TokenSet",
    "SessionState",
    "TokensChanged",
    "ChangeReason",
    "RefreshFailure",
    "LogoutOutcome",
    "TokenRevocation",
    "AuthorizationRequest",
    "DeviceAuthorization",
    "HttpResponse",
    "HttpHeader",
    # logging
    "sync_log_level",
    "__version__",
]
