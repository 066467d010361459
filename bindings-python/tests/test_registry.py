"""AccountRegistry from Python: many accounts behind one object, one SQLite store."""

from __future__ import annotations

import asyncio
import json

import pytest

import tokenkeep


def test_a_registry_serves_many_accounts_from_one_store(server, tmp_path):
    clock = tokenkeep.ManualClock()
    store = tokenkeep.SqliteStore.open(str(tmp_path / "tokens.sqlite"), bytes(range(32)))
    template = tokenkeep.TokenKeeperOptions(token_endpoint=server.url("/token"), client_id="public-app", clock=clock)
    registry = tokenkeep.AccountRegistry.new_on_sqlite(template, store, 2)
    issued = {}
    for user in ("alice", "bob", "carol"):
        answer = server.sign_in()
        registry.keeper(user).set_token_response(json.dumps(answer))
        issued[user] = answer["access_token"]
    assert registry.hot_sessions() == 2  # at most max_hot_sessions keepers in memory
    assert sorted(registry.accounts()) == ["alice", "bob", "carol"]
    for user, token in issued.items():  # alice was pushed out: her tokens come back from the store
        assert registry.access_token_blocking(user) == token
    assert asyncio.run(registry.access_token("bob")) == issued["bob"]
    clock.advance_secs(3600)
    renewed = registry.access_token_blocking("alice")
    assert renewed != issued["alice"] and server.is_active(renewed)
    with pytest.raises(tokenkeep.NotSignedInError):
        registry.access_token_blocking("dave")
    shown = repr(registry)
    assert shown.startswith("AccountRegistry")
    assert all(token not in shown for token in [*issued.values(), renewed])
