"""Keepers across ``fork()``: gunicorn ``--preload``, Celery prefork and
``multiprocessing`` (fork start method) build a keeper in the parent and use
it in forked children.

The parent's runtime threads, pooled connections and any refresh in flight
do not exist in a child; the core notices the new process id and builds
what it needs again. Each test makes the parent use the keeper first (so the
runtime and the connection pool exist), forks, and waits for the child
with a bound: a child that hangs fails the test instead of hanging it.
Children report through a pipe and end with ``os._exit``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import selectors
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import tokenkeep
from support import FixtureServer, eventually

#: The longest a child may take to answer.
CHILD_TIMEOUT = 30.0
KEY = bytes(range(32))

# Forking a process that has threads (tokenkeep's runtime has two) is what
# these tests are about; Python 3.12+ warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


def in_child(work: Callable[[], Dict[str, Any]], timeout: float = CHILD_TIMEOUT) -> Dict[str, Any]:
    """Runs ``work`` in a forked child and returns what it returned (JSON),
    or fails if the child does not answer within ``timeout`` seconds."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status = 0
        try:
            answer = work()
        except BaseException as error:  # report everything, raise nothing
            answer = {"error": f"{type(error).__name__}: {error}"}
            status = 1
        try:
            with os.fdopen(write_end, "w") as pipe:
                pipe.write(json.dumps(answer))
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        with selectors.DefaultSelector() as selector, os.fdopen(read_end) as pipe:
            selector.register(pipe, selectors.EVENT_READ)
            if not selector.select(timeout=timeout):
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"the forked child did not answer within {timeout} s (hung)")
            text = pipe.read()
    finally:
        _, status = os.waitpid(pid, 0)
    answer: Dict[str, Any] = json.loads(text) if text else {"error": f"no answer, wait status {status}"}
    assert "error" not in answer, answer["error"]
    return answer


def expired_after_a_parent_refresh(keeper: tokenkeep.TokenKeeper, clock: tokenkeep.ManualClock, server: FixtureServer) -> str:
    """Signs in, lets the parent refresh once (its runtime and connection
    pool are now in use), then lets the new token expire. Returns the
    parent's token."""
    keeper.set_token_response(server.sign_in())
    clock.advance_secs(3600)
    token = keeper.access_token()
    assert server.refresh_requests() == 1
    clock.advance_secs(3600)
    assert keeper.state() is tokenkeep.SessionState.EXPIRED
    return token


def test_a_forked_child_refreshes_with_the_keeper_its_parent_built_and_used(
    server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]
) -> None:
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock)
    parent_token = expired_after_a_parent_refresh(keeper, clock, server)

    answer = in_child(lambda: {"token": keeper.access_token(), "state": str(keeper.state())})

    assert answer["token"] != parent_token
    assert server.is_active(answer["token"])
    assert server.refresh_requests() == 2, "the child refreshed once"
    assert "VALID" in answer["state"]


def test_a_forked_child_runs_its_own_background_refresher(
    server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]
) -> None:
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(clock=clock, policy=tokenkeep.RefreshPolicy(proactive_refresh=True))
    keeper.set_token_response(server.sign_in())
    keeper.access_token()  # the parent's runtime and background refresher run

    def child() -> Dict[str, Any]:
        keeper.refresh()  # the child's first refresh starts its own refresher
        # Into the refresh-ahead window: the child's refresher refreshes
        # without any call (the parent's clock did not move).
        clock.advance_secs(3570)
        eventually("the child's background refresher refreshed", lambda: server.refresh_requests() == 2)
        return {"refreshes": server.refresh_requests()}

    assert in_child(child)["refreshes"] == 2


# multiprocessing pickles the task function by name; the keeper it uses is
# inherited through fork, as gunicorn workers inherit a preloaded app's.
_POOL_KEEPER: Optional[tokenkeep.TokenKeeper] = None


def _token_in_worker(_: int) -> Tuple[int, str]:
    assert _POOL_KEEPER is not None
    return os.getpid(), _POOL_KEEPER.access_token()


def test_fork_pool_workers_share_one_refresh_through_the_file_store(
    tmp_path: Path, server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]
) -> None:
    global _POOL_KEEPER
    clock = tokenkeep.ManualClock()
    store = tokenkeep.EncryptedFileStore.open(str(tmp_path / "tokens"), KEY)
    keeper = make_keeper(clock=clock, store=store)
    expired_after_a_parent_refresh(keeper, clock, server)
    _POOL_KEEPER = keeper
    try:
        with multiprocessing.get_context("fork").Pool(3) as pool:
            answers: List[Tuple[int, str]] = pool.map_async(_token_in_worker, range(9)).get(timeout=CHILD_TIMEOUT)
            pool.terminate()
            pool.join()
    finally:
        _POOL_KEEPER = None

    tokens = {token for _, token in answers}
    assert len(tokens) == 1, "every worker uses the one refreshed token"
    assert all(server.is_active(token) for token in tokens)
    # Rotation is on: a second refresh with the same refresh token would be
    # reuse. The file store's lock and re-read let one worker refresh and the
    # others adopt its tokens.
    assert server.refresh_requests() == 2, "one refresh in the parent, one across all workers"


#: How long the server holds the parent's refresh.
PARENT_REFRESH_DELAY_MS = 6000


def _refresh_in_flight_in_a_thread(
    keeper: tokenkeep.TokenKeeper, server: FixtureServer
) -> Tuple[threading.Thread, Dict[str, Any]]:
    """Starts the parent's refresh, slowed down by the server, and returns
    once the server has the request (the refresh is in flight)."""
    server.fault(delay_ms=PARENT_REFRESH_DELAY_MS)
    before = server.refresh_requests()
    outcome: Dict[str, Any] = {}

    def refresh() -> None:
        try:
            outcome["token"] = keeper.access_token()
        except tokenkeep.TokenKeepError as error:
            outcome["error"] = error

    thread = threading.Thread(target=refresh)
    thread.start()
    eventually("the parent's refresh reached the server", lambda: server.refresh_requests() == before + 1)
    return thread, outcome


def test_a_child_forked_during_a_refresh_does_not_wait_for_the_parents_refresh(
    server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]
) -> None:
    # Without rotation both processes may use the one refresh token; the
    # memory store is the process's own, so the child refreshes by itself.
    server.client(client_id="fork-app", rotation=False)
    clock = tokenkeep.ManualClock()
    keeper = make_keeper(client_id="fork-app", clock=clock)
    keeper.set_token_response(server.sign_in(client_id="fork-app"))
    clock.advance_secs(3600)
    keeper.access_token()
    clock.advance_secs(3600)
    thread, parent = _refresh_in_flight_in_a_thread(keeper, server)

    # The parent's refresh is held 6 s; the child must not join it (it can
    # never finish in the child) nor wait on the memory store's lock that the
    # parent's refreshing thread holds: it answers well before.
    answer = in_child(lambda: {"token": keeper.access_token()}, timeout=PARENT_REFRESH_DELAY_MS / 1000 - 1)

    thread.join(timeout=CHILD_TIMEOUT)
    assert not thread.is_alive()
    assert "token" in parent, parent
    assert server.is_active(answer["token"])
    assert answer["token"] != parent["token"]


def test_a_child_forked_during_a_refresh_adopts_it_through_the_file_store(
    tmp_path: Path, server: FixtureServer, make_keeper: Callable[..., tokenkeep.TokenKeeper]
) -> None:
    clock = tokenkeep.ManualClock()
    store = tokenkeep.EncryptedFileStore.open(str(tmp_path / "tokens"), KEY)
    keeper = make_keeper(clock=clock, store=store)
    expired_after_a_parent_refresh(keeper, clock, server)
    thread, parent = _refresh_in_flight_in_a_thread(keeper, server)

    # The child waits (bounded) for the parent's file lock, re-reads the
    # store and takes the parent's new tokens: no second refresh, so the
    # rotating refresh token is spent once.
    answer = in_child(lambda: {"token": keeper.access_token()})

    thread.join(timeout=CHILD_TIMEOUT)
    assert not thread.is_alive()
    assert "token" in parent, parent
    assert answer["token"] == parent["token"]
    assert server.refresh_requests() == 2
    assert server.is_active(answer["token"])
