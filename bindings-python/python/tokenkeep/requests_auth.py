"""``RequestsAuth``: tokenkeep as a ``requests`` authentication handler.

Attach it to a request or a session and every request to one of the
keeper's ``api_origins`` carries ``Authorization: Bearer <token>``::

    import requests
    from tokenkeep.requests_auth import RequestsAuth

    session = requests.Session()
    session.auth = RequestsAuth(keeper)
    session.get("https://api.example.com/v1/me")

* The token comes from :meth:`tokenkeep.Keeper.access_token` (cached, so the
  per-request cost stays off the FFI boundary).
* On HTTP 401 from an origin the token was sent to, the keeper refreshes
  once (or uses tokens someone else refreshed meanwhile) and the request is
  resent once, with the same body. A body that cannot be replayed (a file or
  generator) is not resent: the 401 is returned, and the next request
  carries the new token.
* The token is never attached to another origin: requests to other URLs go
  out untouched, and on a redirect to an origin outside ``api_origins`` the
  header is removed before requests follows it (requests itself only strips
  it when the host or port changes).

Needs ``pip install "tokenkeep[requests]"``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

try:
    import requests
    from requests.cookies import extract_cookies_to_jar
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('tokenkeep.requests_auth needs requests: pip install "tokenkeep[requests]"') from error

from ._keeper import Keeper

__all__ = ["RequestsAuth"]

_REPLAYABLE = (bytes, str, type(None))


class RequestsAuth(requests.auth.AuthBase):
    """Bearer authentication from a :class:`tokenkeep.Keeper`, with one
    refresh and retry on HTTP 401."""

    def __init__(self, keeper: Keeper) -> None:
        self.keeper = keeper
        self._origins = keeper.origins

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url is None or not self._origins.allows(request.url):
            return request
        request.headers["Authorization"] = "Bearer " + self.keeper.access_token()
        if self._on_response not in request.hooks["response"]:
            request.register_hook("response", self._on_response)
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.is_redirect:
            self._guard_redirect(response)
            return response
        if response.status_code != 401:
            return response
        sent = request.headers.get("Authorization")
        if not isinstance(sent, str) or not sent.startswith("Bearer "):
            return response  # the token was not sent there: the 401 is not about it
        if request.url is None or not self._origins.allows(request.url):
            return response
        token = self.keeper.refresh_rejected(sent[len("Bearer ") :])
        if not isinstance(request.body, _REPLAYABLE):
            return response  # the next request gets the new token
        _ = response.content  # read it, so the connection can be reused
        response.close()
        retry = request.copy()
        if retry._cookies is not None:
            extract_cookies_to_jar(retry._cookies, request, response.raw)
            retry.prepare_cookies(retry._cookies)
        retry.headers["Authorization"] = "Bearer " + token
        # A redirect after the retry is followed from the original request.
        request.headers["Authorization"] = "Bearer " + token
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        if answer.is_redirect:
            self._guard_redirect(answer)
        return answer

    def _guard_redirect(self, response: requests.Response) -> None:
        """Removes the token before requests follows a redirect elsewhere."""
        location = response.headers.get("location", "")
        target = urljoin(response.url, location)
        if not self._origins.allows(target):
            response.request.headers.pop("Authorization", None)

    def __repr__(self) -> str:
        return f"RequestsAuth({self.keeper!r})"
