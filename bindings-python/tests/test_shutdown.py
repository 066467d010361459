"""A program that changes tokens and exits at once exits cleanly.

Regression test: the core's event thread used to call into a finalizing
interpreter and abort the process (exit code 134, "FATAL: exception not
rethrown"); tokenkeep._keeper drains the events at exit.
"""

from __future__ import annotations

import subprocess
import sys

PROGRAM = r"""
import tokenkeep
changes = []
keeper = tokenkeep.TokenKeeper(token_endpoint="http://127.0.0.1:9/token", client_id="app",
                               token_updater=changes.append)
for i in range(20):
    keeper.set_tokens("at_%d" % i, "rt", expires_in=3600)
"""


def test_exiting_right_after_token_changes_is_clean():
    for _ in range(5):
        run = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, (run.returncode, run.stderr)
        assert "FATAL" not in run.stderr
