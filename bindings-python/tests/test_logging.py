"""The core's log lines reach logger ``tokenkeep``, filtered by level in the
core, without any token; a program that logs and exits at once exits cleanly."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import List

import pytest

import tokenkeep
from tokenkeep import ffi as _ffi


def _drain() -> None:
    """Waits until the core's event thread delivered every queued record."""
    assert _ffi.flush_listener_events(5000)


def _refresh_failure(server, make_keeper, account: str):
    """A signed-in keeper whose next refresh meets one 503 (no retries)."""
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock, account_id=account, policy=tokenkeep.RefreshPolicy(max_retries=0))
    keeper.set_token_response(server.sign_in())
    tokens = keeper.tokens()
    clock.advance_secs(3600)
    server.fault(status=503)
    with pytest.raises(tokenkeep.TransientError):
        keeper.access_token()
    return keeper, tokens


def _refresh_warnings(records: List[logging.LogRecord], account: str) -> List[logging.LogRecord]:
    return [
        r
        for r in records
        if r.name.startswith("tokenkeep")
        and r.levelno == logging.WARNING
        and "token refresh failed" in r.getMessage()
        and f"account={account}" in r.getMessage()
    ]


def test_a_transient_refresh_failure_logs_a_warning_without_tokens(server, make_keeper, caplog):
    caplog.set_level(logging.DEBUG, logger="tokenkeep")
    keeper, tokens = _refresh_failure(server, make_keeper, "py-log-warn")
    _drain()

    warnings = _refresh_warnings(caplog.records, "py-log-warn")
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert warnings[0].name == "tokenkeep.session.refresh"
    assert "503" in warnings[0].tokenkeep_fields
    secrets = [tokens.access_token(), tokens.refresh_token()]
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        for secret in secrets:
            assert secret not in text


def test_the_core_passes_on_only_what_the_logger_shows_as_of_the_last_sync(server, make_keeper, caplog):
    caplog.set_level(logging.DEBUG, logger="tokenkeep")
    logger = logging.getLogger("tokenkeep")
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock, account_id="py-log-filtered", policy=tokenkeep.RefreshPolicy(max_retries=0))
    keeper.set_token_response(server.sign_in())

    logger.setLevel(logging.ERROR)
    tokenkeep.sync_log_level()
    # More verbose in Python only: the core still filters at ERROR, so the
    # warning never crosses.
    logger.setLevel(logging.DEBUG)
    clock.advance_secs(3600)
    server.fault(status=503)
    with pytest.raises(tokenkeep.TransientError):
        keeper.access_token()
    _drain()
    assert _refresh_warnings(caplog.records, "py-log-filtered") == []

    tokenkeep.sync_log_level()
    server.fault(status=503)
    clock.advance_secs(3600)
    with pytest.raises(tokenkeep.TransientError):
        keeper.access_token()
    _drain()
    assert len(_refresh_warnings(caplog.records, "py-log-filtered")) == 1


PROGRAM = r"""
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
import tokenkeep
policy = tokenkeep.RefreshPolicy(max_retries=0)
keeper = tokenkeep.TokenKeeper(token_endpoint="http://127.0.0.1:9/token", client_id="app", policy=policy)
keeper.set_tokens("at_exit_test", "rt_exit_test", expires_in=3600)
try:
    keeper.refresh()
except tokenkeep.TransientError:
    pass
"""


def test_exiting_right_after_a_logged_failure_is_clean():
    run = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, (run.returncode, run.stderr)
    assert "FATAL" not in run.stderr
    assert "WARNING:tokenkeep.session.refresh:token refresh failed" in run.stdout, run.stdout
    assert "at_exit_test" not in run.stdout + run.stderr
    assert "rt_exit_test" not in run.stdout + run.stderr
