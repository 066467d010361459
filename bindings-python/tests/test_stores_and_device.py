"""The core's encrypted stores and device sign-in, from Python: tokens
survive a new Keeper on the same EncryptedFileStore / SqliteStore, a wrong
key is a typed StorageError that keeps the data, and a device sign-in
approved at the fixture server gives tokens."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import tokenkeep
from support import FixtureServer

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


@pytest.mark.parametrize("kind", ["file", "sqlite"])
def test_tokens_survive_a_restart_and_a_wrong_key_is_typed(
    kind: str, tmp_path: Path, server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]
) -> None:
    def open_store(key: bytes) -> Any:
        if kind == "file":
            return tokenkeep.EncryptedFileStore.open(str(tmp_path / "tokens"), key)
        return tokenkeep.SqliteStore.open(str(tmp_path / "tokens.sqlite3"), key)

    first = make_keeper(store=open_store(KEY), account_id="user-7")
    first.set_token_response(server.sign_in())
    token = first.access_token()
    first.close()

    second = make_keeper(store=open_store(KEY), account_id="user-7")
    assert second.access_token() == token

    with pytest.raises(tokenkeep.StorageError) as raised:
        make_keeper(store=open_store(OTHER_KEY), account_id="user-7")
    assert raised.value.kind == tokenkeep.StorageErrorKind.WRONG_KEY
    assert token not in str(raised.value)
    # The record is still there for the right key.
    assert make_keeper(store=open_store(KEY), account_id="user-7").access_token() == token


def test_device_sign_in(server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]) -> None:
    keeper = make_keeper(device_authorization_endpoint=server.url("/device_authorization"))
    device = keeper.start_device_authorization()
    assert device.user_code() in (device.verification_uri_complete() or "")

    def user_approves() -> None:
        time.sleep(1.2)
        server.request("POST", "/device/approve", form={"user_code": device.user_code()})

    approver = threading.Thread(target=user_approves)
    approver.start()
    tokens = keeper.complete_device_authorization(device)
    approver.join()
    assert tokens.has_refresh_token()
    assert keeper.state() == tokenkeep.SessionState.VALID
    assert "dc_" not in repr(device)
