"""pytest fixtures: fixture servers (one per session, reset per test) and keepers.

See support.py for how the server subprocess is started and stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import tokenkeep
from support import CallbackListener, FixtureServer, fixture_binary


@pytest.fixture(scope="session")
def server_binary() -> Path:
    return fixture_binary()


@pytest.fixture(scope="session")
def _server(server_binary: Path) -> Iterator[FixtureServer]:
    server = FixtureServer(server_binary)
    yield server
    server.stop()


@pytest.fixture
def server(_server: FixtureServer) -> FixtureServer:
    """The fixture server, reset to its start-up state."""
    _server.reset()
    return _server


@pytest.fixture(scope="session")
def _other_server(server_binary: Path) -> Iterator[FixtureServer]:
    server = FixtureServer(server_binary)
    yield server
    server.stop()


@pytest.fixture
def other_server(_other_server: FixtureServer) -> FixtureServer:
    """A second fixture server: an origin the token must never reach."""
    _other_server.reset()
    return _other_server


@pytest.fixture
def make_keeper(server: FixtureServer) -> Iterator[Callable[..., tokenkeep.TokenKeeper]]:
    """Builds keepers against ``server`` (public client, the server's origin
    as the only API origin) and closes them after the test. ``on_tokens_changed``,
    ``on_session_expired`` and ``on_refresh_failed`` callables become a listener."""
    made = []

    def make(client_id: str = "public-app", **kwargs: Any) -> tokenkeep.TokenKeeper:
        kwargs.setdefault("api_origins", [server.base_url])
        callbacks = {name: kwargs.pop(name) for name in list(kwargs) if name.startswith("on_")}
        if callbacks:
            kwargs["listener"] = CallbackListener(**callbacks)
        keeper = tokenkeep.TokenKeeper(token_endpoint=server.url("/token"), client_id=client_id, **kwargs)
        made.append(keeper)
        return keeper

    yield make
    for keeper in made:
        keeper.close()
