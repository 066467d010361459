"""Expiry, refresh and rotation, with the core's ManualClock."""

from __future__ import annotations

import tokenkeep
from support import delivered, eventually


def test_an_expired_token_is_refreshed_on_the_next_call(server, make_keeper):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    first = keeper.access_token()
    clock.advance_secs(3600)
    assert keeper.state() is tokenkeep.SessionState.EXPIRED
    second = keeper.access_token()
    assert second != first
    assert server.refresh_requests() == 1
    assert keeper.state() is tokenkeep.SessionState.VALID
    assert keeper.access_token() == second
    assert server.refresh_requests() == 1


def test_inside_the_refresh_ahead_window_the_current_token_is_served_while_one_refresh_runs(server, make_keeper):
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    keeper.set_token_response(server.sign_in())
    first = keeper.access_token()
    clock.advance_secs(3600 - 30)  # due (60 s ahead), not expired
    assert keeper.access_token() == first
    eventually("the background refresh", lambda: keeper.access_token() != first)
    assert server.refresh_requests() == 1


def test_every_refresh_rotates_both_tokens(server, make_keeper):
    clock = tokenkeep.ManualClock()
    changes = []
    keeper = make_keeper(clock=clock, on_tokens_changed=changes.append)
    keeper.set_token_response(server.sign_in())
    seen_refresh_tokens = [keeper.tokens().refresh_token()]
    seen_access_tokens = [keeper.access_token()]
    for _ in range(3):
        clock.advance_secs(3600)
        seen_access_tokens.append(keeper.access_token())
        seen_refresh_tokens.append(keeper.tokens().refresh_token())
    assert len(set(seen_access_tokens)) == 4
    assert len(set(seen_refresh_tokens)) == 4
    assert server.refresh_requests() == 3
    # The spent refresh tokens are dead at the server; the newest one lives.
    assert [server.is_active(t) for t in seen_refresh_tokens] == [False, False, False, True]


def test_refresh_now_replaces_the_tokens_and_the_cached_one(server, make_keeper):
    keeper = make_keeper()
    keeper.set_token_response(server.sign_in())
    old = keeper.access_token()
    tokens = keeper.refresh()
    assert tokens.access_token() != old
    assert keeper.access_token() == tokens.access_token()
    assert server.refresh_requests() == 1


def test_a_listener_hears_about_every_change_without_a_token(server, make_keeper):
    clock = tokenkeep.ManualClock()
    changes = []
    keeper = make_keeper(clock=clock, on_tokens_changed=changes.append)
    first = keeper.set_token_response(server.sign_in())
    clock.advance_secs(3600)
    keeper.access_token()
    delivered()
    assert [c.reason for c in changes] == [tokenkeep.ChangeReason.SET, tokenkeep.ChangeReason.REFRESHED]
    assert all(c.has_refresh_token and c.tokens is not None for c in changes)
    second = changes[1].tokens
    assert second.access_token() == keeper.tokens().access_token() != first.access_token()
    shown = repr(changes) + str(changes)
    for secret in (first.access_token(), first.refresh_token(), second.access_token(), second.refresh_token()):
        assert secret not in shown
