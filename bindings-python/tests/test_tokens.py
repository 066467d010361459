"""Handing tokens over and the fresh-token path."""

from __future__ import annotations

import json

import pytest

import tokenkeep


def test_set_tokens_then_access_token_serves_them_without_a_request(server, make_keeper):
    keeper = make_keeper()
    assert keeper.state() is tokenkeep.SessionState.EMPTY
    tokens = keeper.set_tokens("at_given", "rt_given", expires_in=3600, scope=["read", "write"])
    assert tokens.access_token() == "at_given"
    assert tokens.scopes() == ["read", "write"]
    assert keeper.state() is tokenkeep.SessionState.VALID
    for _ in range(100):
        assert keeper.access_token() == "at_given"
    assert server.token_requests() == 0


def test_set_token_response_accepts_a_dict_json_text_or_bytes(server, make_keeper):
    keeper = make_keeper()
    answer = server.sign_in()
    for form in (answer, json.dumps(answer), json.dumps(answer).encode()):
        tokens = keeper.set_token_response(form)
        assert tokens.access_token() == answer["access_token"]
        assert tokens.refresh_token() == answer["refresh_token"]
        assert keeper.access_token() == answer["access_token"]


def test_the_fresh_path_answers_from_the_token_the_server_issued(server, make_keeper):
    keeper = make_keeper()
    keeper.set_token_response(server.sign_in())
    before = server.token_requests()
    token = keeper.access_token()
    assert server.is_active(token)
    assert [keeper.access_token() for _ in range(1000)] == [token] * 1000
    assert server.token_requests() == before


def test_no_tokens_means_not_signed_in(make_keeper):
    keeper = make_keeper()
    with pytest.raises(tokenkeep.NotSignedInError) as caught:
        keeper.access_token()
    assert "sign in" in str(caught.value)
    assert keeper.tokens() is None


def test_logout_forgets_the_tokens(server, make_keeper):
    keeper = make_keeper()
    keeper.set_token_response(server.sign_in())
    keeper.access_token()
    keeper.logout()
    assert keeper.state() is tokenkeep.SessionState.LOGGED_OUT
    with pytest.raises(tokenkeep.NotSignedInError):
        keeper.access_token()


def test_valid_tokens_refreshes_when_the_token_would_not_last(server, make_keeper):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    first = keeper.access_token()
    # Within a second of its receipt a token is served whatever the caller
    # asks (no refresh loop when the server issues shorter tokens than asked).
    assert keeper.valid_tokens(min_ttl=7200).access_token() == first
    clock.advance_secs(2)
    tokens = keeper.valid_tokens(min_ttl=7200)  # the server issues one-hour tokens
    assert tokens.access_token() != first
    assert server.refresh_requests() == 1
    # The newest token is returned, and the next call a moment later does not refresh again.
    assert keeper.valid_tokens(min_ttl=7200).access_token() == tokens.access_token()
    assert server.refresh_requests() == 1
