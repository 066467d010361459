"""Handing tokens over and the fresh-token path."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import tokenkeep
from support import delivered


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


def test_a_token_set_offers_what_python_token_libraries_do(server, make_keeper):
    keeper = make_keeper()
    answer = server.sign_in()
    before = datetime.now(timezone.utc)
    tokens = keeper.set_token_response(answer)
    assert tokens.expires_at is not None and tokens.expires_at.tzinfo is not None
    assert before + timedelta(seconds=answer["expires_in"] - 5) <= tokens.expires_at
    assert tokens.expires_at <= datetime.now(timezone.utc) + timedelta(seconds=answer["expires_in"])
    assert tokens.valid and not tokens.expired
    as_dict = tokens.to_dict()
    assert as_dict["access_token"] == answer["access_token"] and as_dict["refresh_token"] == answer["refresh_token"]
    assert as_dict["token_type"] == "Bearer" and abs(as_dict["expires_at"] - tokens.expires_at.timestamp()) < 1
    past = keeper.set_tokens("at_past", "rt_past", expires_at=datetime.now(timezone.utc) - timedelta(minutes=1))
    assert past.expired and not past.valid
    assert keeper.set_tokens("at_no_expiry").expires_at is None


def test_set_tokens_takes_an_absolute_expiry(make_keeper):
    keeper = make_keeper()
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    tokens = keeper.set_tokens("at_abs", "rt_abs", expires_at=at)
    assert tokens.expires_at == at and tokens.expires_at_unix_ms() == int(at.timestamp() * 1000)
    with pytest.raises(tokenkeep.ConfigurationError):
        keeper.set_tokens("at_both", expires_in=60, expires_at=at)


def test_token_updater_gets_every_new_token_set(server, make_keeper):
    updates = []
    clock = tokenkeep.ManualClock()
    keeper = tokenkeep.TokenKeeper(
        tokenkeep.TokenKeeperOptions(token_endpoint=server.url("/token"), client_id="public-app", clock=clock),
        token_updater=updates.append,
    )
    first = keeper.set_token_response(server.sign_in())
    clock.advance_secs(3600)
    second = keeper.refresh()
    delivered()
    assert [u.access_token() for u in updates] == [first.access_token(), second.access_token()]
    assert updates[1].refresh_token() == second.refresh_token() != first.refresh_token()
    keeper.close()  # no calls after close
    keeper2 = make_keeper(clock=clock)
    keeper2.set_token_response(server.sign_in())
    delivered()
    assert len(updates) == 2


def test_every_public_object_shows_its_fields_in_repr(tmp_path):
    secret = "s3cr3t-client-value"
    options = tokenkeep.TokenKeeperOptions(token_endpoint="https://auth.example/t", client_id="app", client_secret=secret)
    keeper = tokenkeep.TokenKeeper(options)
    tokens = keeper.set_tokens("at_shown_nowhere_1", "rt_shown_nowhere_1", expires_in=60)
    event = tokenkeep.TokensChanged(reason=tokenkeep.ChangeReason.SET, expires_at_unix_ms=None, scope="a",
                                    has_refresh_token=True, stored=True, tokens=tokens)
    failure = tokenkeep.RefreshFailure(detail="offline", oauth_error=None, transient=True, retry_after_secs=5)
    store = tokenkeep.EncryptedFileStore.open(str(tmp_path / "tokens"), bytes(32))
    shown = {
        "TokenKeeperOptions": options, "RefreshPolicy": tokenkeep.RefreshPolicy(), "TokensChanged": event,
        "RefreshFailure": failure, "TokenSet": tokens, "ManualClock": tokenkeep.ManualClock.starting_at(5),
        "EncryptedFileStore": store, "HttpRequest": tokenkeep.HttpRequest(method="GET", url="https://api.example/"),
    }  # fmt: skip
    for name, value in shown.items():
        text = repr(value)
        assert text.startswith(name) and "{" in text and "object at 0x" not in text, text
        for hidden in (secret, "at_shown_nowhere_1", "rt_shown_nowhere_1"):
            assert hidden not in text + str(value)
    assert "retry_after_secs: Some(5)" in repr(failure) and "now_ms: 5" in repr(shown["ManualClock"])
