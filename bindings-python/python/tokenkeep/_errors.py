"""The exceptions: the generated ``TokenKeepError`` and its variants, unchanged.

Every failure of a tokenkeep call, opening a store included, is a
``TokenKeepError``; each variant has a Python alias (``SessionExpiredError``
is ``TokenKeepError.SessionExpired``, ...; README: "Errors"). ``str(error)``
is the core's ``Display``, installed here on the generated class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .ffi import tokenkeep as _generated

TokenKeepError = _generated.TokenKeepError


def _core_display(error: BaseException) -> str:
    internals: Any = _generated  # the generated module's private, untyped helpers
    text = internals._uniffi_rust_call_with_error(
        None,
        internals._UniffiLib.uniffi_tokenkeep_fn_method_tokenkeeperror_uniffi_trait_display,
        internals._UniffiFfiConverterTypeTokenKeepError.lower(error),
    )
    return str(internals._UniffiFfiConverterString.lift(text))


TokenKeepError.__str__ = _core_display  # type: ignore[method-assign]

if TYPE_CHECKING:  # one description of every variant's fields, for type checkers

    class _Variant(TokenKeepError):
        detail: str
        oauth_error: Optional[str]
        retry_after_secs: Optional[int]
        kind: _generated.StorageErrorKind

        def __init__(self, *args: Any, **fields: Any) -> None: ...

    SessionExpiredError = NotSignedInError = TransientError = AuthorizationError = _Variant
    BadResponseError = ConfigurationError = StorageError = InternalError = _Variant
else:
    SessionExpiredError = TokenKeepError.SessionExpired
    NotSignedInError = TokenKeepError.NotSignedIn
    TransientError = TokenKeepError.Transient
    AuthorizationError = TokenKeepError.Authorization
    BadResponseError = TokenKeepError.BadResponse
    ConfigurationError = TokenKeepError.Configuration
    StorageError = TokenKeepError.Storage
    InternalError = TokenKeepError.Internal
