"""What Python token libraries offer on a token, added to the generated ``TokenSet``.

Users of requests-oauthlib, Authlib and google-auth expect a token to be a
dict or to have ``expires_at``/``expired``/``valid``. The core's ``TokenSet``
is a generated class whose objects come out of every call, so the smallest
clean way is to patch four attributes onto that class once, at import:

* ``expires_at``: property, the access token's expiry as an aware UTC
  ``datetime`` (``None`` when the server gave none);
* ``expired`` / ``valid``: properties, by the system clock (``is_expired()``);
* ``to_dict()``: the RFC 6749 §5.1 token response plus ``expires_at`` in
  Unix seconds (requests-oauthlib's shape). It holds the tokens: never log it.

Every other accessor is the core's method (``access_token()``, ``scope()``,
...). The ``TYPE_CHECKING`` class tells type checkers about the four.
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
