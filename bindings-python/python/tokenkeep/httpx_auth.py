"""``HttpxAuth``: tokenkeep as an ``httpx`` authentication flow, sync and async.

::

    import httpx
    from tokenkeep.httpx_auth import HttpxAuth

    with httpx.Client(auth=HttpxAuth(keeper)) as client:
        client.get("https://api.example.com/v1/me")

    async with httpx.AsyncClient(auth=HttpxAuth(keeper)) as client:
        await client.get("https://api.example.com/v1/me")

* Requests to one of the keeper's ``api_origins`` carry
  ``Authorization: Bearer <token>`` (from the cached fast path; the async
  flow awaits :meth:`tokenkeep.Keeper.access_token_async` and never blocks
  the event loop).
* On HTTP 401 from an origin the token was sent to, the keeper refreshes
  once (or uses tokens someone else refreshed meanwhile) and the request is
  resent once. A streaming body that cannot be replayed is not resent (the
  401 is returned; the next request carries the new token).
* Requests to other origins go out untouched. httpx removes the header on
  a redirect to another origin (except an upgrade of the same host from
  http to https, which httpx allows); a 401 from a redirected-to origin that
  did not receive the token does not cause a refresh.

Needs ``pip install "tokenkeep[httpx]"``.
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator, Optional

try:
    import httpx
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('tokenkeep.httpx_auth needs httpx: pip install "tokenkeep[httpx]"') from error

from ._keeper import Keeper

__all__ = ["HttpxAuth"]


class HttpxAuth(httpx.Auth):
    """Bearer authentication from a :class:`tokenkeep.Keeper`, with one
    refresh and retry on HTTP 401."""

    def __init__(self, keeper: Keeper) -> None:
        self.keeper = keeper
        self._origins = keeper.origins

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self._allows(request.url):
            yield request
            return
        token = self.keeper.access_token()
        request.headers["Authorization"] = "Bearer " + token
        response = yield request
        if self._rejected(response, token):
            token = self.keeper.refresh_rejected(token)
            if _is_buffered(request):
                request.headers["Authorization"] = "Bearer " + token
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self._allows(request.url):
            yield request
            return
        token = await self.keeper.access_token_async()
        request.headers["Authorization"] = "Bearer " + token
        response = yield request
        if self._rejected(response, token):
            token = await self.keeper.refresh_rejected_async(token)
            if _is_buffered(request):
                request.headers["Authorization"] = "Bearer " + token
                yield request

    def _allows(self, url: httpx.URL) -> bool:
        return self._origins.allows_parts(url.scheme, url.raw_host.decode("ascii", "replace"), url.port)

    @staticmethod
    def _rejected(response: httpx.Response, token: str) -> bool:
        """A 401 to a request that carried ``token`` (not one from an origin
        a redirect led to, which did not receive it)."""
        if response.status_code != 401:
            return False
        answered: Optional[httpx.Request] = response.request
        return answered is not None and answered.headers.get("Authorization") == "Bearer " + token

    def __repr__(self) -> str:
        return f"HttpxAuth({self.keeper!r})"


def _is_buffered(request: httpx.Request) -> bool:
    try:
        _ = request.content  # raises RequestNotRead for a streaming body
    except httpx.RequestNotRead:
        return False
    return True
