"""What requests-oauthlib, Authlib and google-auth users expect of a token,
added once, at import, to the generated ``TokenSet`` (whose objects every call
returns): ``expires_at`` (aware UTC ``datetime`` or ``None``), ``expired`` and
``valid`` (system clock), ``to_dict()`` (the RFC 6749 §5.1 response plus
``expires_at`` in Unix seconds; it holds the tokens: never log it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Optional

from .ffi import tokenkeep as _generated

if TYPE_CHECKING:

    class TokenSet(_generated.TokenSet):
        expires_at: Optional[datetime]  # type: ignore[assignment]
        expired: bool
        valid: bool

        def to_dict(self) -> Dict[str, Any]: ...

else:
    TokenSet = _generated.TokenSet
    TokenSet.expires_at = property(TokenSet.expires_at, doc="The access token's expiry (aware UTC), or None.")
    TokenSet.expired = property(lambda self: self.is_expired(), doc="Whether the access token has expired.")
    TokenSet.valid = property(lambda self: not self.is_expired(), doc="Whether the access token is unexpired.")
    TokenSet.to_dict = lambda self: json.loads(self.to_json())
