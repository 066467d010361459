"""httpx integration, sync and async: Bearer header, one refresh + resend on 401, own origins only."""

from __future__ import annotations

import asyncio
import urllib.parse

import httpx
import pytest

from tokenkeep.httpx_auth import HttpxAuth


def signed_in(server, make_keeper, **kwargs):
    keeper = make_keeper(**kwargs)
    keeper.set_token_response(server.sign_in())
    return keeper


def test_sync_client_carries_the_token_and_retries_once_on_401(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    with httpx.Client(auth=HttpxAuth(keeper), timeout=10) as client:
        assert client.get(server.url("/api/me")).json()["sub"] == "test-user"
        server.expire_access_tokens()
        answer = client.request("GET", server.url("/api/me"), content=b"payload")
        assert answer.status_code != 401
        assert [r.status_code for r in answer.history] == [401]
        assert client.get(server.url("/api/me")).status_code == 200
    assert server.refresh_requests() == 1
    stats = server.stats()
    assert stats["api_requests"] == stats["api_requests_with_authorization"] == 4


def test_async_client_carries_the_token_and_retries_once_on_401(server, make_keeper):
    keeper = signed_in(server, make_keeper)

    async def main():
        async with httpx.AsyncClient(auth=HttpxAuth(keeper), timeout=10) as client:
            first = await client.get(server.url("/api/me"))
            server.expire_access_tokens()
            answers = await asyncio.gather(*(client.get(server.url("/api/me")) for _ in range(20)))
            return first, answers

    first, answers = asyncio.run(main())
    assert first.status_code == 200
    assert [a.status_code for a in answers] == [200] * 20
    assert server.refresh_requests() == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_token_never_goes_to_another_origin(server, other_server, make_keeper, mode):
    keeper = signed_in(server, make_keeper)
    to = urllib.parse.quote(other_server.url("/api/me"), safe="")
    urls = [other_server.url("/api/me"), server.url(f"/api/redirect?to={to}")]
    if mode == "sync":
        with httpx.Client(auth=HttpxAuth(keeper), follow_redirects=True, timeout=10) as client:
            statuses = [client.get(url).status_code for url in urls]
    else:

        async def main():
            async with httpx.AsyncClient(auth=HttpxAuth(keeper), follow_redirects=True, timeout=10) as client:
                return [(await client.get(url)).status_code for url in urls]

        statuses = asyncio.run(main())
    assert statuses == [401, 401]
    stats = other_server.stats()
    assert stats["api_requests"] == 2
    assert stats["api_requests_with_authorization"] == 0
    assert server.refresh_requests() == 0


def test_a_redirect_within_the_origin_keeps_the_token(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    to = urllib.parse.quote(server.url("/api/me"), safe="")
    with httpx.Client(auth=HttpxAuth(keeper), follow_redirects=True, timeout=10) as client:
        assert client.get(server.url(f"/api/redirect?to={to}")).status_code == 200


def test_a_streamed_body_is_not_resent(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    keeper.access_token()
    server.expire_access_tokens()

    def body():
        yield b"streamed"

    with httpx.Client(auth=HttpxAuth(keeper), timeout=10) as client:
        assert client.request("GET", server.url("/api/me"), content=body()).status_code == 401
        assert server.refresh_requests() == 1
        assert client.get(server.url("/api/me")).status_code == 200
