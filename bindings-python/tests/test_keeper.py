"""The Keeper's Pythonic surface: keywords, properties, context managers, sign-in."""

from __future__ import annotations

import asyncio
import inspect
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

import tokenkeep


def redirect_location(url: str) -> str:
    """Where the fixture's /authorize sends the browser (its 302 Location)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(url, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        return redirect.headers["Location"]
    raise AssertionError("no redirect")


def test_keyword_arguments_with_defaults():
    params = inspect.signature(tokenkeep.TokenKeeperOptions).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in params.values())
    options = tokenkeep.TokenKeeperOptions(token_endpoint="https://auth.example.com/token", client_id="app")
    assert options.client_secret is None and options.store is None and options.clock is None
    assert options.account_id == "default" and options.api_origins == [] and not options.client_credentials
    assert options.policy == tokenkeep.RefreshPolicy()
    keeper = tokenkeep.TokenKeeper(options)
    assert keeper.account_id() == "default"
    with pytest.raises(TypeError, match="not both"):
        tokenkeep.TokenKeeper(options, client_id="other")


def test_sign_in_with_pkce(server, make_keeper):
    keeper = make_keeper(
        authorization_endpoint=server.url("/authorize"),
        redirect_uri="com.example.app:/callback",
        scopes=["read"],
    )
    request = keeper.authorization_request(login_hint="alice")
    assert "code_challenge_method=S256" in request.url() and "login_hint=alice" in request.url()
    tokens = keeper.complete_authorization(request, redirect_location(request.url()))
    assert tokens.scope() == "read"
    assert keeper.send(tokenkeep.HttpRequest(method="GET", url=server.url("/api/me"))).status == 200
    assert b'"sub":"alice"' in keeper.send(tokenkeep.HttpRequest(method="GET", url=server.url("/api/me"))).body.replace(b" ", b"")


def test_sign_in_with_pkce_in_asyncio(server, make_keeper):
    keeper = make_keeper(authorization_endpoint=server.url("/authorize"), redirect_uri="http://127.0.0.1/cb")
    request = keeper.authorization_request()

    async def main():
        location = await asyncio.get_running_loop().run_in_executor(None, redirect_location, request.url())
        await keeper.complete_authorization_async(request, location)
        answer = await keeper.send_async(tokenkeep.HttpRequest(method="GET", url=server.url("/api/me")))
        return answer.status, await keeper.access_token_async()

    status, token = asyncio.run(main())
    assert status == 200 and server.is_active(token)


def test_client_credentials(server, make_keeper):
    keeper = make_keeper(
        client_id="m2m-client", client_secret="m2m-secret", client_credentials=True, scopes=["reports:read"]
    )
    token = keeper.access_token()
    assert server.is_active(token)
    assert server.stats()["token_requests"]["client_credentials"] == 1
    assert keeper.tokens().scope() == "reports:read"


def test_context_managers_close_the_keeper(server):
    with tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="public-app") as keeper:
        keeper.set_tokens("at_ctx", expires_in=timedelta(hours=1))
        assert keeper.access_token() == "at_ctx"
        assert not keeper.closed
    assert keeper.closed
    assert repr(keeper) == "TokenKeeper(closed)"
    with pytest.raises(ValueError, match="closed"):
        keeper.access_token()
    keeper.close()  # idempotent

    async def main():
        async with tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="public-app") as keeper:
            keeper.set_tokens("at_async_ctx", expires_in=60)
            return keeper, await keeper.access_token_async()

    keeper, token = asyncio.run(main())
    assert token == "at_async_ctx" and keeper.closed


def test_properties_and_repr(server, make_keeper):
    keeper = make_keeper(account_id="user-7")
    assert keeper.account_id() == "user-7"
    assert keeper.state() is tokenkeep.SessionState.EMPTY
    assert repr(keeper) == "TokenKeeper(account_id='user-7', state=EMPTY)"
    keeper.set_tokens("at_props", "rt_props", expires_in=600, scope="a b")
    assert keeper.tokens().has_refresh_token()
    assert keeper.tokens().scopes() == ["a", "b"]
    assert keeper.api_origins() == [server.base_url]


def test_logout_revokes_at_the_server(server, make_keeper):
    keeper = make_keeper(revocation_endpoint=server.url("/revoke"))
    keeper.set_token_response(server.sign_in())
    token = keeper.access_token()
    outcome = keeper.logout()
    assert outcome.fully_revoked
    assert isinstance(outcome.refresh_token, tokenkeep.TokenRevocation.REVOKED)
    assert isinstance(outcome.access_token, tokenkeep.TokenRevocation.REVOKED)
    assert not server.is_active(token)
    again = asyncio.run(keeper.logout_async())  # a second logout is harmless
    assert not again.fully_revoked
    assert isinstance(again.access_token, tokenkeep.TokenRevocation.NOT_SENT)


def test_camel_case_servers_through_a_response_mapping(server, make_keeper):
    keeper = make_keeper(client_id="camel-app", response_mapping=tokenkeep.camel_case_response_mapping())
    answer = server.sign_in("camel-app")
    assert "accessToken" in answer
    keeper.set_token_response(answer)
    assert keeper.access_token() == answer["accessToken"]
    assert keeper.tokens().expires_at_unix_ms() is not None


def test_the_public_api_is_listed():
    for name in tokenkeep.__all__:
        assert hasattr(tokenkeep, name), name
    assert tokenkeep.__version__ == "0.1.0"


def test_may_send_token_to_is_the_cores_answer_kept_per_origin(server, make_keeper):
    keeper = make_keeper(api_origins=[server.base_url, "https://bücher.example", "https://api.example.com:8443"])
    port = server.base_url.rsplit(":", 1)[1]
    urls = [
        server.url("/api/me"), server.url("/other?x=1#y"), f"HTTP://127.0.0.1:{port}/api", f"http://localhost:{port}/",
        f"http://user:pw@127.0.0.1:{port}/api", f"http://127.0.0.1:{port}\\@evil.example/", "https://xn--bcher-kva.example/a",
        "https://BÜCHER.example/b", "https://api.example.com:8443/v1", "https://api.example.com/v1", "http://[::1/",
        "not a url", "", "https://evil.example/?next=" + server.base_url,
    ]  # fmt: skip
    expected = [bool(keeper.core.may_send_token_to(url)) for url in urls]
    assert expected.count(True) >= 5 and expected.count(False) >= 5
    for _ in range(2):  # the first pass asks the core, the second is answered from what it said
        assert [keeper.may_send_token_to(url) for url in urls] == expected
