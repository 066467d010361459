"""Letting the core's event thread go quiet before the interpreter shuts down.

The core delivers listener events on its own thread. If that thread calls
into Python while the interpreter is finalizing, CPython (3.8 to 3.13) ends
the thread with ``pthread_exit``, whose forced unwind cannot cross the Rust
frames: the process aborts ("FATAL: exception not rethrown", exit code 134)
after the program has finished. A program that changes tokens just before it
exits (``set_tokens``, ``logout``, a refresh) would hit that.

So, at exit, this module asks the core to deliver everything queued so far
(``flush_listener_events``, at most :data:`DRAIN_TIMEOUT`). Work that starts
*after* this point (a background refresh that finishes during shutdown) is
not covered; closing keepers before exit avoids it.

Before that, it stores the tokens of every open keeper that holds some only
in memory (a refresh whose save failed, see ``Keeper.flush``): a process
that exits normally does not lose a rotated refresh token because its store
failed a moment earlier. Objects are not reliably freed at interpreter exit,
so the core's own last attempt (when a keeper is freed) is not enough here.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import TYPE_CHECKING

from ._uniffi import tokenkeep as _ffi

if TYPE_CHECKING:
    from ._keeper import Keeper

__all__ = ["register", "DRAIN_TIMEOUT"]

#: The longest wait at exit, in seconds.
DRAIN_TIMEOUT = 2.0

_registered = False
_lock = threading.Lock()
_open_keepers: "weakref.WeakSet[Keeper]" = weakref.WeakSet()


def _store_unsaved_tokens() -> None:
    for keeper in list(_open_keepers):
        try:
            if not keeper.closed and keeper.has_unsaved_tokens:
                keeper.flush()
        except Exception as error:  # never fail an exit because of this
            logging.getLogger("tokenkeep").error("tokens held only in memory could not be stored at exit: %s", error)


def _at_exit() -> None:
    _store_unsaved_tokens()
    try:
        _ffi.flush_listener_events(int(DRAIN_TIMEOUT * 1000))
    except Exception:  # never fail an exit because of this
        pass


def register(keeper: "Keeper") -> None:
    """Arranges, once, the flush of unsaved tokens and the drain at exit,
    and remembers ``keeper`` (weakly) for the flush."""
    global _registered
    with _lock:
        _open_keepers.add(keeper)
        if not _registered:
            atexit.register(_at_exit)
            _registered = True
