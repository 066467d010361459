"""Issue 10, case 1, from Python: a store written in Python that fails its
saves after the server rotated the refresh token loses nothing.

The refreshed tokens are served from memory, ``has_unsaved_tokens`` says so,
``refresh()`` raises a :class:`tokenkeep.StorageError` saying they are held
but not stored, the next refresh uses the newest refresh token (not the spent
one in the store), and the tokens reach the store on ``flush()`` and on
``close()`` once it works again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

import tokenkeep


class FlakyStore(tokenkeep.TokenStore):
    """A dict store whose saves fail (like a full disk) while ``failing``."""

    def __init__(self):
        super().__init__()
        self.records = {}
        self.failing = False
        self._lock = threading.Lock()

    def load(self, key):
        with self._lock:
            return self.records.get(key)

    def save(self, key, record):
        if self.failing:
            raise tokenkeep.StoreError.Io("No space left on device (simulated)")
        with self._lock:
            self.records[key] = record

    def delete(self, key):
        with self._lock:
            self.records.pop(key, None)

    def stored_access_token(self, key="default"):
        with self._lock:
            record = self.records.get(key)
        return json.loads(record)["tokens"]["access_token"] if record else None


def test_a_failing_python_store_loses_no_session(server, make_keeper):
    store = FlakyStore()
    clock = tokenkeep.ManualClock()
    changes = []
    keeper = make_keeper(store=store, clock=clock, on_tokens_changed=changes.append)
    keeper.set_token_response(server.sign_in())
    signed_in = keeper.access_token()
    assert store.stored_access_token() == signed_in

    store.failing = True
    clock.advance_secs(3600)
    refreshed = keeper.access_token()
    assert refreshed != signed_in
    assert keeper.has_unsaved_tokens()
    assert server.is_active(refreshed)
    assert store.stored_access_token() == signed_in

    with pytest.raises(tokenkeep.StorageError) as raised:
        keeper.refresh()
    assert "held in memory" in str(raised.value)
    assert raised.value.kind == tokenkeep.StorageErrorKind.IO
    again = keeper.access_token()
    assert again != refreshed

    clock.advance_secs(3600)
    newest = keeper.access_token()
    assert newest != again
    assert server.stats()["refresh_reuse_detected"] == 0, "the spent refresh token was never presented"
    assert server.is_active(newest)

    with pytest.raises(tokenkeep.StorageError):
        keeper.flush()
    store.failing = False
    keeper.flush()
    assert not keeper.has_unsaved_tokens()
    assert store.stored_access_token() == newest
    assert tokenkeep.ffi.tokenkeep.flush_listener_events(5000)
    assert [c.stored for c in changes if c.reason == tokenkeep.ChangeReason.REFRESHED] == [False, False, False]
    assert any(c.reason == tokenkeep.ChangeReason.STORED and c.stored for c in changes)

    # close() stores what is still unsaved.
    store.failing = True
    clock.advance_secs(3600)
    last = keeper.access_token()
    assert keeper.has_unsaved_tokens()
    store.failing = False
    keeper.close()
    assert store.stored_access_token() == last


EXITING_PROGRAM = r"""
import json, sys, tokenkeep

class FileStore(tokenkeep.TokenStore):
    '''Keeps the record in one file; saves fail while `failing`.'''
    def __init__(self, path):
        super().__init__()
        self.path, self.failing = path, False
    def load(self, key):
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
    def save(self, key, record):
        if self.failing:
            raise tokenkeep.StoreError.Io("No space left on device (simulated)")
        with open(self.path, "wb") as f:
            f.write(record)
    def delete(self, key):
        pass

token_endpoint, path, answer = sys.argv[1], sys.argv[2], sys.argv[3]
store = FileStore(path)
clock = tokenkeep.ManualClock()
keeper = tokenkeep.TokenKeeper(token_endpoint=token_endpoint, client_id="public-app", store=store, clock=clock)
keeper.set_token_response(answer)
store.failing = True
clock.advance_secs(3600)
print(keeper.access_token(), flush=True)
assert keeper.has_unsaved_tokens()
store.failing = False
# No close(), no flush(): the interpreter exits with the keeper still open.
"""


def test_unsaved_tokens_are_stored_when_the_interpreter_exits(server, tmp_path):
    path = tmp_path / "record.json"
    run = subprocess.run(
        [sys.executable, "-c", EXITING_PROGRAM, server.url("/token"), str(path), json.dumps(server.sign_in())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    refreshed = run.stdout.strip()
    assert json.loads(path.read_bytes())["tokens"]["access_token"] == refreshed
