"""``HttpxAuth``: tokenkeep as an ``httpx`` authentication flow, sync and async
(``httpx.Client(auth=HttpxAuth(keeper))``).

Requests to a URL the core lets the token go to (``keeper.may_send_token_to``,
the origins in ``api_origins``) carry ``Authorization: Bearer <token>``; the
async flow awaits ``access_token_async`` and never blocks the event loop.
On HTTP 401 to a request that carried the token, ``refresh_if_rejected``
runs and a buffered request is resent once (a streaming body is not: the
next request carries the new token). Other requests go out untouched; httpx
drops the header on a redirect to another origin. Needs ``tokenkeep[httpx]``.
"""

from __future__ import annotations

from typing import AsyncGenerator, Generator

try:
    import httpx
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('tokenkeep.httpx_auth needs httpx: pip install "tokenkeep[httpx]"') from error

from ._keeper import TokenKeeper


class HttpxAuth(httpx.Auth):
    """Bearer authentication from a :class:`tokenkeep.TokenKeeper`, with one refresh and retry on 401."""

    def __init__(self, keeper: TokenKeeper) -> None:
        self.keeper = keeper

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if not self.keeper.may_send_token_to(str(request.url)):
            yield request
            return
        token = self.keeper.access_token()
        request.headers["Authorization"] = "Bearer " + token
        response = yield request
        if _rejected(response, token):
            token = self.keeper.refresh_if_rejected(token).access_token()
            if _is_buffered(request):
                request.headers["Authorization"] = "Bearer " + token
                yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self.keeper.may_send_token_to(str(request.url)):
            yield request
            return
        token = await self.keeper.access_token_async()
        request.headers["Authorization"] = "Bearer " + token
        response = yield request
        if _rejected(response, token):
            token = (await self.keeper.refresh_if_rejected_async(token)).access_token()
            if _is_buffered(request):
                request.headers["Authorization"] = "Bearer " + token
                yield request

    def __repr__(self) -> str:
        return f"HttpxAuth({self.keeper!r})"


def _rejected(response: httpx.Response, token: str) -> bool:
    """A 401 to a request that carried ``token`` (not to one a redirect led elsewhere)."""
    return response.status_code == 401 and response.request.headers.get("Authorization") == "Bearer " + token


def _is_buffered(request: httpx.Request) -> bool:
    try:
        _ = request.content  # raises RequestNotRead for a streaming body
    except httpx.RequestNotRead:
        return False
    return True
