"""``RequestsAuth``: tokenkeep as a ``requests`` authentication handler
(``session.auth = RequestsAuth(keeper)``).

Requests to a URL the core lets the token go to (``keeper.may_send_token_to``,
the origins in ``api_origins``) carry ``Authorization: Bearer <token>``. On
HTTP 401 to a request that carried it, ``refresh_if_rejected`` runs and the
request is resent once with the same body (a file or generator body is not:
the next request carries the new token). Before requests follows a redirect
to a URL the token may not go to, the header is removed (requests itself
strips it only when the host or port changes). Needs ``tokenkeep[requests]``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

try:
    import requests
    from requests.cookies import extract_cookies_to_jar
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError('tokenkeep.requests_auth needs requests: pip install "tokenkeep[requests]"') from error

from ._keeper import TokenKeeper

_REPLAYABLE = (bytes, str, type(None))


class RequestsAuth(requests.auth.AuthBase):
    """Bearer authentication from a :class:`tokenkeep.TokenKeeper`, with one refresh and retry on 401."""

    def __init__(self, keeper: TokenKeeper) -> None:
        self.keeper = keeper

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if request.url is None or not self.keeper.may_send_token_to(request.url):
            return request
        request.headers["Authorization"] = "Bearer " + self.keeper.access_token()
        if self._on_response not in request.hooks["response"]:
            request.register_hook("response", self._on_response)
        return request

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        sent = request.headers.get("Authorization")
        if response.status_code != 401 or not (isinstance(sent, str) and sent.startswith("Bearer ")):
            self._guard_redirect(response)
            return response
        token = self.keeper.refresh_if_rejected(sent[len("Bearer ") :]).access_token()
        if not isinstance(request.body, _REPLAYABLE):
            return response  # the next request gets the new token
        _ = response.content  # read it, so the connection can be reused
        response.close()
        retry = request.copy()
        if retry._cookies is not None:
            extract_cookies_to_jar(retry._cookies, request, response.raw)
            retry.prepare_cookies(retry._cookies)
        retry.headers["Authorization"] = request.headers["Authorization"] = "Bearer " + token
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        self._guard_redirect(answer)
        return answer

    def _guard_redirect(self, response: requests.Response) -> None:
        """Removes the token before requests follows a redirect where it may not go."""
        if response.is_redirect and not self.keeper.may_send_token_to(
            urljoin(response.url, response.headers.get("location", ""))
        ):
            response.request.headers.pop("Authorization", None)

    def __repr__(self) -> str:
        return f"RequestsAuth({self.keeper!r})"
