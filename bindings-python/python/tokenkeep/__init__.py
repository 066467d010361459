"""tokenkeep: OAuth 2.0 access tokens kept valid by one Rust core.

Hand tokenkeep a token response (or sign in through it with PKCE, or give it
client credentials) and from then on ask it for a valid access token::

    import tokenkeep

    keeper = tokenkeep.TokenKeeper(tokenkeep.TokenKeeperOptions(
        token_endpoint="https://auth.example.com/oauth/token",
        client_id="my-app",
        api_origins=["https://api.example.com"],
    ))
    keeper.set_token_response({"access_token": "...", "refresh_token": "...", "expires_in": 3600})
    token = keeper.access_token()              # str; refreshed when due
    token = await keeper.access_token_async()  # the same, in asyncio code

HTTP integrations: :mod:`tokenkeep.requests_auth`, :mod:`tokenkeep.httpx_auth`.
Everything not defined in this package is the generated :mod:`tokenkeep.ffi`.
"""

from importlib import metadata as _metadata

from . import _logging
from ._errors import (
    AuthorizationError,
    BadResponseError,
    ConfigurationError,
    InternalError,
    NotSignedInError,
    SessionExpiredError,
    StorageError,
    TokenKeepError,
    TransientError,
)
from ._keeper import TokenKeeper
from ._logging import sync_log_level
from ._listener import SessionListener
from ._registry import AccountRegistry
from ._stores import KeyringStore, StoreError, TokenStore
from ._token_set import TokenSet
from .ffi import (
    AuthorizationRequest,
    ChangeReason,
    ClientAuthMethod,
    DeviceAuthorization,
    EncryptedFileStore,
    HttpHeader,
    HttpRequest,
    HttpResponse,
    LogoutOutcome,
    ManualClock,
    RefreshFailure,
    RefreshPolicy,
    ResponseMapping,
    SessionState,
    PostgresSettings,
    PostgresStore,
    SqliteStore,
    StorageErrorKind,
    SweepCounts,
    SweepFailure,
    SweepOptions,
    SweepSummary,
    TokenKeeperOptions,
    TokenRevocation,
    TokensChanged,
    camel_case_response_mapping,
    flush_listener_events,
    memory_store,
)

_logging.install()
__version__: str = _metadata.version("tokenkeep")

__all__ = [
    "TokenKeeper", "TokenKeeperOptions", "RefreshPolicy", "ClientAuthMethod", "ResponseMapping",
    "camel_case_response_mapping", "ManualClock", "SessionListener", "flush_listener_events",
    "TokenKeepError", "SessionExpiredError", "NotSignedInError", "TransientError", "AuthorizationError",
    "BadResponseError", "ConfigurationError", "StorageError", "InternalError", "StorageErrorKind",
    "TokenStore", "KeyringStore", "EncryptedFileStore", "SqliteStore", "PostgresStore",
    "PostgresSettings", "StoreError", "memory_store", "AccountRegistry",
    "SweepOptions", "SweepSummary", "SweepFailure", "SweepCounts",
    "TokenSet", "SessionState", "TokensChanged", "ChangeReason", "RefreshFailure", "LogoutOutcome",
    "TokenRevocation", "AuthorizationRequest", "DeviceAuthorization", "HttpRequest", "HttpResponse",
    "HttpHeader", "sync_log_level", "__version__",
]  # fmt: skip
