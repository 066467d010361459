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
"""

from __future__ import annotations

import atexit
import threading

from ._uniffi import tokenkeep as _ffi

__all__ = ["register", "DRAIN_TIMEOUT"]

#: The longest wait at exit, in seconds.
DRAIN_TIMEOUT = 2.0

_registered = False
_lock = threading.Lock()


def _drain() -> None:
    try:
        _ffi.flush_listener_events(int(DRAIN_TIMEOUT * 1000))
    except Exception:  # never fail an exit because of this
        pass


def register() -> None:
    """Arranges the drain at exit (once; called when the first Keeper is made)."""
    global _registered
    with _lock:
        if not _registered:
            atexit.register(_drain)
            _registered = True
