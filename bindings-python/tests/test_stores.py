"""Stores written in Python, called from the core's own threads; KeyringStore."""

from __future__ import annotations

import threading
from pathlib import Path

import keyring.backend
import keyring.errors
import pytest

import tokenkeep


def _thread_name() -> str:
    """The OS name of the calling thread (the core names its threads)."""
    comm = Path(f"/proc/self/task/{threading.get_native_id()}/comm")
    if comm.exists():
        return comm.read_text().strip()
    return threading.current_thread().name


class RecordingStore(tokenkeep.TokenStore):
    """A thread-safe dict store that notes which thread made each call."""

    def __init__(self):
        super().__init__()
        self.records = {}
        self.calls = []
        self._lock = threading.Lock()

    def _note(self, what):
        with self._lock:
            self.calls.append((what, _thread_name()))

    def load(self, key):
        self._note("load")
        with self._lock:
            return self.records.get(key)

    def save(self, key, record):
        self._note("save")
        with self._lock:
            self.records[key] = bytes(record)

    def delete(self, key):
        self._note("delete")
        with self._lock:
            self.records.pop(key, None)


def test_a_python_store_keeps_tokens_across_keepers(server, make_keeper):
    store = RecordingStore()
    first = make_keeper(store=store, account_id="user-42")
    first.set_token_response(server.sign_in())
    assert list(store.records) == ["user-42"]
    token = first.access_token()
    first.close()
    second = make_keeper(store=store, account_id="user-42")
    assert second.access_token() == token
    assert server.token_requests() == 1  # the sign-in only


def test_a_python_store_is_called_from_the_cores_threads_during_refresh(server, make_keeper):
    store = RecordingStore()
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(store=store, clock=clock)
    keeper.set_token_response(server.sign_in())
    store.calls.clear()
    clock.advance_secs(3600)
    results = []
    threads = [threading.Thread(target=lambda: results.append(keeper.access_token())) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(set(results)) == 1 and len(results) == 50
    assert server.refresh_requests() == 1
    saves = [name for what, name in store.calls if what == "save"]
    # One refresh writes twice: the refresh-in-flight marker before the
    # request, the new tokens after it.
    assert len(saves) == 2
    assert saves[0].startswith("tokenkeep"), store.calls  # a core-owned runtime thread
    assert (
        tokenkeep.TokenKeeper(  # the refreshed record is what a new session loads
            token_endpoint=server.url("/token"), client_id="public-app", store=store
        ).access_token()
        == results[0]
    )


def test_lock_and_unlock_default_to_no_ops_and_can_be_overridden(server, make_keeper):
    class LockingStore(RecordingStore):
        def lock(self, key, timeout_ms):
            self._note(f"lock {timeout_ms}")

        def unlock(self, key):
            self._note("unlock")

    store = LockingStore()
    keeper = make_keeper(store=store, policy=tokenkeep.RefreshPolicy(store_lock_timeout_ms=1234))
    keeper.set_token_response(server.sign_in())
    keeper.refresh()
    names = [what for what, _ in store.calls]
    assert "lock 1234" in names and "unlock" in names
    assert names.index("lock 1234") < names.index("save") < names.index("unlock")
    assert RecordingStore().lock("k", 1) is None


def test_a_store_error_reaches_the_caller_as_a_storage_error(make_keeper):
    class FullDisk(RecordingStore):
        def save(self, key, record):
            raise tokenkeep.StoreError.Io("disk full while writing /var/lib/app/tokens")

    keeper = make_keeper(store=FullDisk())
    with pytest.raises(tokenkeep.StorageError) as caught:
        keeper.set_tokens("at_secret_value", "rt_secret_value", expires_in=60)
    assert caught.value.kind is tokenkeep.StorageErrorKind.IO
    assert "disk full" in str(caught.value)
    assert "secret_value" not in str(caught.value) + repr(caught.value)
    assert keeper.tokens() is None, "nothing changes when the tokens cannot be stored"


def test_any_other_exception_from_a_store_is_a_storage_error_of_kind_other(server):
    class Broken(RecordingStore):
        def load(self, key):
            raise RuntimeError("backend unavailable")

    with pytest.raises(tokenkeep.StorageError) as caught:
        tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="public-app", store=Broken())
    assert caught.value.kind is tokenkeep.StorageErrorKind.OTHER
    assert "backend unavailable" in str(caught.value)


def test_an_unreadable_record_is_a_corrupt_storage_error_and_is_kept(server):
    store = RecordingStore()
    store.records["default"] = b"\x00not a record"
    with pytest.raises(tokenkeep.StorageError) as caught:
        tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id="public-app", store=store)
    assert caught.value.kind is tokenkeep.StorageErrorKind.CORRUPT
    assert store.records["default"] == b"\x00not a record"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring backend for tests."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError("not found")
        del self.entries[(service, username)]


def test_keyring_store_keeps_records_in_the_keyring(server, make_keeper):
    backend = MemoryKeyring()
    store = tokenkeep.KeyringStore("tokenkeep-tests", keyring_backend=backend)
    keeper = make_keeper(store=store, account_id="alice")
    answer = server.sign_in()
    keeper.set_token_response(answer)
    assert list(backend.entries) == [("tokenkeep-tests", "alice")]
    assert answer["access_token"] not in backend.entries[("tokenkeep-tests", "alice")]  # base64, not plain
    again = make_keeper(store=tokenkeep.KeyringStore("tokenkeep-tests", keyring_backend=backend), account_id="alice")
    assert again.access_token() == answer["access_token"]
    again.logout()
    assert backend.entries == {}
    store.delete("nobody")  # a missing entry is not an error
    assert "tokenkeep-tests" in repr(store)


def test_keyring_failures_are_io_storage_errors(make_keeper):
    class LockedKeyring(MemoryKeyring):
        def set_password(self, service, username, password):
            raise keyring.errors.PasswordSetError("the keyring is locked")

    keeper = make_keeper(store=tokenkeep.KeyringStore(keyring_backend=LockedKeyring()))
    with pytest.raises(tokenkeep.StorageError) as caught:
        keeper.set_tokens("at_x", "rt_x", expires_in=60)
    assert caught.value.kind is tokenkeep.StorageErrorKind.IO
    assert "locked" in str(caught.value)
