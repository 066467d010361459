"""requests integration: Bearer header, one refresh + resend on 401, own origins only."""

from __future__ import annotations

import threading
import urllib.parse

import pytest
import requests

import tokenkeep
from tokenkeep.requests_auth import RequestsAuth


def signed_in(server, make_keeper, **kwargs):
    keeper = make_keeper(**kwargs)
    keeper.set_token_response(server.sign_in())
    return keeper


def test_requests_carry_the_token(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    with requests.Session() as session:
        session.auth = RequestsAuth(keeper)
        answer = session.get(server.url("/api/me"), timeout=10)
    assert answer.status_code == 200
    assert answer.json()["sub"] == "test-user"
    assert server.stats()["api_requests_with_authorization"] == 1


def test_a_401_refreshes_once_and_resends_once(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    auth = RequestsAuth(keeper)
    assert requests.get(server.url("/api/me"), auth=auth, timeout=10).status_code == 200
    server.expire_access_tokens()
    answer = requests.get(server.url("/api/me"), data=b"payload", auth=auth, timeout=10)
    assert answer.status_code != 401
    assert [r.status_code for r in answer.history] == [401]
    assert server.refresh_requests() == 1
    assert server.stats()["api_requests"] == 3
    assert requests.get(server.url("/api/me"), auth=auth, timeout=10).status_code == 200
    assert server.refresh_requests() == 1


def test_many_threads_rejected_at_once_share_one_refresh(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    auth = RequestsAuth(keeper)
    keeper.access_token()
    server.expire_access_tokens()
    statuses = []

    def call():
        with requests.Session() as session:
            statuses.append(session.get(server.url("/api/me"), auth=auth, timeout=30).status_code)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 20
    assert server.refresh_requests() == 1


def test_a_401_after_a_failed_refresh_raises_session_expired(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    server.request("POST", "/admin/revoke-all")
    with pytest.raises(tokenkeep.SessionExpiredError):
        requests.get(server.url("/api/me"), auth=RequestsAuth(keeper), timeout=10)


def test_the_token_never_goes_to_another_origin(server, other_server, make_keeper):
    keeper = signed_in(server, make_keeper)
    auth = RequestsAuth(keeper)
    # Directly.
    answer = requests.get(other_server.url("/api/me"), auth=auth, timeout=10)
    assert answer.status_code == 401
    # Through a redirect from an allowed origin.
    to = urllib.parse.quote(other_server.url("/api/me"), safe="")
    answer = requests.get(server.url(f"/api/redirect?to={to}"), auth=auth, timeout=10)
    assert answer.status_code == 401 and answer.url == other_server.url("/api/me")
    stats = other_server.stats()
    assert stats["api_requests"] == 2
    assert stats["api_requests_with_authorization"] == 0
    # A 401 from an origin that never saw the token does not cost a refresh.
    assert server.refresh_requests() == 0


def test_a_redirect_within_the_origin_keeps_the_token(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    to = urllib.parse.quote(server.url("/api/me"), safe="")
    answer = requests.get(server.url(f"/api/redirect?to={to}"), auth=RequestsAuth(keeper), timeout=10)
    assert answer.status_code == 200


def test_the_header_is_removed_before_a_redirect_requests_itself_would_follow_with_it():
    # http -> https on the default ports keeps Authorization in requests; the
    # https origin is not in api_origins here, so the hook must remove it.
    keeper = tokenkeep.TokenKeeper(
        token_endpoint="http://localhost/token", client_id="app", api_origins=["http://localhost"]
    )
    keeper.set_tokens("at_for_http_only", expires_in=3600)
    auth = RequestsAuth(keeper)
    prepared = auth(requests.Request("GET", "http://localhost/start").prepare())
    assert prepared.headers["Authorization"] == "Bearer at_for_http_only"
    redirect = requests.Response()
    redirect.status_code = 302
    redirect.headers["Location"] = "https://localhost/next"
    redirect.url = "http://localhost/start"
    redirect.request = prepared
    prepared.hooks["response"][0](redirect)
    assert "Authorization" not in prepared.headers
    keeper.close()


def test_a_streamed_body_is_not_resent_but_the_next_request_is_fresh(server, make_keeper):
    keeper = signed_in(server, make_keeper)
    auth = RequestsAuth(keeper)
    keeper.access_token()
    server.expire_access_tokens()
    answer = requests.get(server.url("/api/me"), data=iter([b"a", b"b"]), auth=auth, timeout=10)
    assert answer.status_code == 401
    assert server.refresh_requests() == 1
    assert requests.get(server.url("/api/me"), auth=auth, timeout=10).status_code == 200
