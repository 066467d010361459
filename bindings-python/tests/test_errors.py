"""Errors a Python user can catch, with helpful messages and never a token."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import requests

import tokenkeep
from support import CallbackListener, delivered, eventually
from tokenkeep.httpx_auth import HttpxAuth
from tokenkeep.requests_auth import RequestsAuth

ERRORS = [
    tokenkeep.SessionExpiredError,
    tokenkeep.NotSignedInError,
    tokenkeep.TransientError,
    tokenkeep.AuthorizationError,
    tokenkeep.BadResponseError,
    tokenkeep.ConfigurationError,
    tokenkeep.StorageError,
    tokenkeep.InternalError,
]


def test_every_error_is_a_token_keep_error():
    assert issubclass(tokenkeep.TokenKeepError, Exception)
    for error in ERRORS:
        assert issubclass(error, tokenkeep.TokenKeepError)
        assert error.__doc__


def test_a_long_retry_after_fails_at_once_as_transient_carrying_it(server, make_keeper):
    clock = tokenkeep.ManualClock()
    failures = []
    keeper = make_keeper(clock=clock, on_refresh_failed=failures.append)
    keeper.set_token_response(server.sign_in())
    clock.advance_secs(3600)
    server.fault(status=503, retry_after=120)
    with pytest.raises(tokenkeep.TransientError) as caught:
        keeper.access_token()
    assert caught.value.retry_after_secs == 120
    assert "try again later" in str(caught.value)
    assert keeper.tokens() is not None, "tokens are kept"
    eventually("a refresh-failed event", lambda: len(failures) == 1)
    assert failures[0].transient and failures[0].retry_after_secs == 120
    assert keeper.access_token() != ""  # the fault is used up: the refresh now works


def test_an_unreachable_server_is_transient():
    keeper = tokenkeep.TokenKeeper(
        token_endpoint="http://127.0.0.1:9/token",
        client_id="app",
        policy=tokenkeep.RefreshPolicy(max_retries=0),
    )
    keeper.set_tokens("at_unreachable", "rt_unreachable", expires_in=3600)
    with pytest.raises(tokenkeep.TransientError) as caught:
        keeper.refresh()
    assert caught.value.retry_after_secs is None
    keeper.close()


def test_configuration_errors(server):
    with pytest.raises(tokenkeep.ConfigurationError, match="https"):
        tokenkeep.TokenKeeper(token_endpoint="http://auth.example.com/token", client_id="app")
    with pytest.raises(tokenkeep.ConfigurationError):
        tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="")
    wrong_secret = tokenkeep.TokenKeeper(
        token_endpoint=server.url("/token"),
        client_id="m2m-client",
        client_secret="wrong-secret-value",
        client_credentials=True,
    )
    with pytest.raises(tokenkeep.ConfigurationError) as caught:
        wrong_secret.access_token()
    assert "invalid_client" in str(caught.value)
    assert "wrong-secret-value" not in str(caught.value) + repr(caught.value)
    with pytest.raises(TypeError):
        tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="app", api_origins="http://127.0.0.1")


def test_a_request_to_an_origin_outside_api_origins_is_refused(server, other_server, make_keeper):
    keeper = make_keeper()
    keeper.set_token_response(server.sign_in())
    assert keeper.send(tokenkeep.HttpRequest(method="GET", url=server.url("/api/me"))).status == 200
    with pytest.raises(tokenkeep.ConfigurationError, match="api_origins"):
        keeper.send(tokenkeep.HttpRequest(method="GET", url=other_server.url("/api/me")))
    assert other_server.stats()["api_requests"] == 0


def test_a_forged_callback_is_an_authorization_error(server, make_keeper):
    keeper = make_keeper(authorization_endpoint=server.url("/authorize"), redirect_uri="http://127.0.0.1/callback")
    request = keeper.authorization_request()
    with pytest.raises(tokenkeep.AuthorizationError, match="state"):
        keeper.complete_authorization(request, "http://127.0.0.1/callback?code=ac_x&state=forged")


def test_no_token_appears_in_any_message_or_repr(server, other_server, make_keeper, caplog):
    caplog.set_level(logging.DEBUG)
    clock = tokenkeep.ManualClock()
    changes, failures, expired = [], [], []
    answer = server.sign_in()
    a = make_keeper(
        clock=clock,
        on_tokens_changed=changes.append,
        on_refresh_failed=failures.append,
        on_session_expired=expired.append,
    )
    b = make_keeper(clock=clock)
    a.set_token_response(answer)
    b.set_token_response(answer)
    secrets = {answer["access_token"], answer["refresh_token"]}
    texts = [repr(a), str(a), repr(a.tokens()), str(a.tokens()), repr(a.core.access_token_lease_blocking())]
    texts += [repr(a._cache), repr(RequestsAuth(a)), repr(HttpxAuth(a)), repr(a.api_origins())]
    clock.advance_secs(3600)
    server.fault(status=503, retry_after=300)
    with pytest.raises(tokenkeep.TransientError) as transient:
        a.access_token()
    texts += [str(transient.value), repr(transient.value)]
    new = a.refresh()
    secrets |= {new.access_token(), new.refresh_token()}
    texts += [repr(new), str(new)]
    with pytest.raises(tokenkeep.SessionExpiredError) as ended:
        b.refresh()  # reuse of the rotated refresh token
    texts += [str(ended.value), repr(ended.value)]
    with pytest.raises(tokenkeep.SessionExpiredError) as ended_a:
        a.refresh()
    texts += [str(ended_a.value), repr(ended_a.value)]
    with pytest.raises(tokenkeep.ConfigurationError) as refused:
        a.send(tokenkeep.HttpRequest(method="GET", url=other_server.url("/api/me")))
    texts += [str(refused.value), repr(refused.value)]
    eventually("events", lambda: expired and failures and len(changes) >= 2)
    texts += [repr(e) for e in changes + failures + expired]
    texts += [record.getMessage() for record in caplog.records]
    request = make_keeper(
        authorization_endpoint=server.url("/authorize"), redirect_uri="http://127.0.0.1/cb"
    ).authorization_request()
    secrets.add(request.code_verifier())
    texts += [repr(request), str(request)]
    everything = "\n".join(texts)
    assert len(secrets) == 5
    for secret in secrets:
        assert secret not in everything


def test_a_failing_listener_is_logged_and_does_not_stop_the_others(server, make_keeper, caplog):
    seen = []

    def broken(event):
        raise RuntimeError("listener bug")

    keeper = make_keeper(on_tokens_changed=broken)
    keeper.add_listener(CallbackListener(on_tokens_changed=seen.append))
    with caplog.at_level(logging.ERROR, logger="tokenkeep"):
        keeper.set_token_response(server.sign_in())
        delivered()
        assert len(seen) == 1
        delivered()  # the log line about the first listener went through the same queue
        assert any("listener failed (" in r.getMessage() and "listener bug" in r.getMessage() for r in caplog.records)


def test_async_errors_are_translated_too(server, make_keeper):
    keeper = make_keeper()

    async def main():
        with pytest.raises(tokenkeep.NotSignedInError):
            await keeper.access_token_async()
        with pytest.raises(tokenkeep.NotSignedInError):
            await keeper.refresh_async()

    asyncio.run(main())


def test_http_integrations_raise_the_same_errors(server, other_server, make_keeper):
    keeper = make_keeper()
    with pytest.raises(tokenkeep.NotSignedInError):
        requests.get(server.url("/api/me"), auth=RequestsAuth(keeper), timeout=10)
    with pytest.raises(tokenkeep.NotSignedInError):
        httpx.get(server.url("/api/me"), auth=HttpxAuth(keeper), timeout=10)
    # ...only for requests the token would be attached to.
    assert requests.get(other_server.url("/api/me"), auth=RequestsAuth(keeper), timeout=10).status_code == 401
    assert httpx.get(other_server.url("/api/me"), auth=HttpxAuth(keeper), timeout=10).status_code == 401
