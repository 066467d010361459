"""The session ends (invalid_grant): SessionExpiredError, tokens purged, told once."""

from __future__ import annotations

import asyncio

import pytest

import tokenkeep
from support import eventually


class DictStore(tokenkeep.TokenStore):
    def __init__(self):
        super().__init__()
        self.records = {}

    def load(self, key):
        return self.records.get(key)

    def save(self, key, record):
        self.records[key] = record

    def delete(self, key):
        self.records.pop(key, None)


def test_reuse_of_a_rotated_refresh_token_ends_the_session(server, make_keeper):
    answer = server.sign_in()
    clock = tokenkeep.ManualClock()
    store_a = DictStore()
    expired_a = []
    # Two sessions hold copies of the same refresh token (a leaked copy, or
    # two processes that do not share a store).
    a = make_keeper(clock=clock, store=store_a, on_session_expired=expired_a.append)
    b = make_keeper(clock=clock)
    a.set_token_response(answer)
    b.set_token_response(answer)

    clock.advance_secs(3600)
    a.access_token()  # a refreshes first and rotates
    with pytest.raises(tokenkeep.SessionExpiredError) as caught:
        b.access_token()  # b presents the spent refresh token: reuse
    assert "sign in again" in str(caught.value)
    assert b.state() is tokenkeep.SessionState.SESSION_EXPIRED
    assert b.tokens() is None

    # The server revoked the whole family: a's rotated tokens are dead too.
    clock.advance_secs(3600)
    with pytest.raises(tokenkeep.SessionExpiredError):
        a.access_token()
    assert a.state() is tokenkeep.SessionState.SESSION_EXPIRED
    assert store_a.records == {}, "the stored record was purged"
    eventually("one session-expired event", lambda: len(expired_a) == 1)

    # Later calls fail the same way without contacting the server.
    requests_before = server.token_requests()
    for _ in range(5):
        with pytest.raises(tokenkeep.SessionExpiredError):
            a.access_token()
        with pytest.raises(tokenkeep.SessionExpiredError):
            a.refresh()
        with pytest.raises(tokenkeep.SessionExpiredError):
            asyncio.run(a.access_token_async())
    assert server.token_requests() == requests_before
    assert len(expired_a) == 1


def test_signing_in_again_revives_an_ended_session(server, make_keeper):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    server.request("POST", "/admin/revoke-all")
    clock.advance_secs(3600)
    with pytest.raises(tokenkeep.SessionExpiredError):
        keeper.access_token()
    keeper.set_token_response(server.sign_in())
    assert keeper.state() is tokenkeep.SessionState.VALID
    assert server.is_active(keeper.access_token())


def test_a_cached_token_is_dropped_when_the_session_ends(server, make_keeper):
    answer = server.sign_in()
    a = make_keeper()
    b = make_keeper()
    a.set_token_response(answer)
    b.set_token_response(answer)
    assert a.access_token() == answer["access_token"]  # now cached in a
    b.refresh()  # rotates
    with pytest.raises(tokenkeep.SessionExpiredError):
        a.refresh()  # reuse: the family is revoked, a's session ends
    with pytest.raises(tokenkeep.SessionExpiredError):
        a.access_token()  # not the cached token
