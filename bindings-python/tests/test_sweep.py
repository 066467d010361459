"""The keep-alive sweep from Python: due accounts refreshed once (blocking and
asyncio), progress through a plain callable, a refused account reported,
bad options a ConfigurationError."""

from __future__ import annotations

import asyncio
import json

import pytest

import tokenkeep
from support import delivered

WINDOW_SECS = 3600


def registry_with(server, tmp_path, due: int, not_due: int) -> tokenkeep.AccountRegistry:
    store = tokenkeep.SqliteStore.open(str(tmp_path / "tokens.sqlite"), bytes(range(32)))
    template = tokenkeep.TokenKeeperOptions(token_endpoint=server.url("/token"), client_id="public-app")
    registry = tokenkeep.AccountRegistry.new_on_sqlite(template, store, 2)
    for i in range(due + not_due):
        answer = server.sign_in()
        answer["refresh_token_expires_in"] = 600 if i < due else 30 * 86400
        registry.keeper(f"user-{i}").set_token_response(json.dumps(answer))
    return registry


def test_a_blocking_sweep_refreshes_the_due_accounts_and_reports_progress(server, tmp_path):
    registry = registry_with(server, tmp_path, due=5, not_due=3)
    seen = []
    summary = registry.sweep(tokenkeep.SweepOptions(refresh_token_expiring_within_secs=WINDOW_SECS), seen.append)
    assert (summary.due, summary.refreshed, summary.signed_out, summary.failed) == (5, 5, [], [])
    assert server.refresh_requests() == 5
    delivered()
    assert seen, "progress was reported"
    assert [c.refreshed for c in seen] == sorted(c.refreshed for c in seen)  # only grows
    assert (seen[-1].due, seen[-1].refreshed) == (summary.due, summary.refreshed)
    assert "SweepSummary" in repr(summary)
    again = registry.sweep(tokenkeep.SweepOptions(refresh_token_expiring_within_secs=WINDOW_SECS))
    assert again.due == 0 and server.refresh_requests() == 5


def test_an_asyncio_sweep_reports_a_refused_account_as_signed_out(server, tmp_path):
    registry = registry_with(server, tmp_path, due=3, not_due=0)
    refused = server.sign_in()
    refused.update(refresh_token="never-issued", refresh_token_expires_in=600)
    registry.keeper("user-refused").set_token_response(json.dumps(refused))
    options = tokenkeep.SweepOptions(refresh_token_expiring_within_secs=WINDOW_SECS, max_concurrent_refreshes=2)
    summary = asyncio.run(registry.sweep_async(options))
    assert summary.signed_out == ["user-refused"] and summary.refreshed == 3
    assert "user-refused" not in registry.accounts()


def test_bad_options_are_configuration_errors(server, tmp_path):
    registry = registry_with(server, tmp_path, due=0, not_due=0)
    with pytest.raises(tokenkeep.ConfigurationError, match="max_concurrent_refreshes"):
        registry.sweep(tokenkeep.SweepOptions(refresh_token_expiring_within_secs=60, max_concurrent_refreshes=0))
    with pytest.raises(tokenkeep.ConfigurationError, match="refresh_token_expiring_within_secs"):
        registry.sweep(tokenkeep.SweepOptions(refresh_token_expiring_within_secs=-1))
