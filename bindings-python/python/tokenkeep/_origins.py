"""Which URLs may receive the access token: the keeper's ``api_origins``.

An origin is ``scheme://host[:port]`` (RFC 6454), serialized the way the core
serializes it: lower-case scheme and host, IDNA for non-ASCII hosts, the port
left out when it is the scheme's default. The requests and httpx integrations
attach the token only to a URL whose origin is in the set, and drop it on a
redirect to any other origin. The check reads the URL the way the HTTP
library parsed it (so a crafted URL cannot make the two disagree on the
host). Answers are memoized, so the per-request cost is one dictionary lookup.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Hashable, Iterable, Optional
from urllib.parse import urlsplit

__all__ = ["origin_of", "origin_from_parts", "OriginPolicy"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> Optional[str]:
    """The origin of ``url``, or ``None`` when it has none (no host, or not HTTP(S))."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    return origin_from_parts(parts.scheme, parts.hostname, port)


def origin_from_parts(scheme: str, host: Optional[str], port: Optional[int]) -> Optional[str]:
    """The origin of an already parsed URL (scheme, host, port)."""
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = host.lower().strip("[]")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class OriginPolicy:
    """The set of origins the token may be sent to."""

    __slots__ = ("origins", "_memo")

    def __init__(self, origins: Iterable[str]) -> None:
        normalized = set()
        for origin in origins:
            value = origin_of(origin)
            if value is None:
                raise ValueError(f"api_origins: {origin!r} is not an http(s) origin")
            normalized.add(value)
        #: The normalized origins.
        self.origins: FrozenSet[str] = frozenset(normalized)
        self._memo: Dict[Hashable, bool] = {}

    def allows(self, url: str) -> bool:
        """Whether the token may be sent to ``url`` (a URL as the HTTP library
        will send it: requests' prepared URLs are re-serialized from the
        parse urllib3 connects with, so this parse agrees with it)."""
        scheme, _, rest = url.partition("://")
        key = scheme + "://" + rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        allowed = self._memo.get(key)
        if allowed is None:
            allowed = self._remember(key, origin_of(key) in self.origins)
        return allowed

    def allows_parts(self, scheme: str, host: str, port: Optional[int]) -> bool:
        """Whether the token may be sent to the URL the HTTP library parsed
        into ``scheme``, ``host`` and ``port`` (what it will connect to)."""
        key = (scheme, host, port)
        allowed = self._memo.get(key)
        if allowed is None:
            allowed = self._remember(key, origin_from_parts(scheme, host, port) in self.origins)
        return allowed

    def _remember(self, key: Hashable, allowed: bool) -> bool:
        if len(self._memo) < 1024:
            self._memo[key] = allowed
        return allowed

    def __repr__(self) -> str:
        return f"OriginPolicy({sorted(self.origins)!r})"
