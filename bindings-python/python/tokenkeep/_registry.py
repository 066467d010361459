"""The account registry with Python's naming: ``sweep`` blocks and
``sweep_async`` awaits (the keep-alive sweep of the core), and a plain
callable may follow its progress. Everything else is the generated class.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from . import ffi

SweepProgressCallable = Callable[[ffi.SweepCounts], object]


class _ProgressCallable(ffi.SweepProgress):
    """Adapts a callable to the core's progress interface."""

    def __init__(self, callback: SweepProgressCallable) -> None:
        self._callback = callback

    def on_progress(self, counts: ffi.SweepCounts) -> None:
        try:
            self._callback(counts)
        except Exception:  # a callback must not break the core's event thread
            logging.getLogger("tokenkeep").exception("the sweep's progress callback raised")


def _adapt(progress: Optional[SweepProgressCallable]) -> Optional[ffi.SweepProgress]:
    return None if progress is None else _ProgressCallable(progress)


class AccountRegistry(ffi.AccountRegistry):
    """Many accounts behind one object (see the generated class for the rest)."""

    def sweep(  # type: ignore[override]
        self, options: ffi.SweepOptions, progress: Optional[SweepProgressCallable] = None
    ) -> ffi.SweepSummary:
        """Refreshes every due account and returns the summary (blocks).
        ``progress`` is called with :class:`SweepCounts` on tokenkeep's event thread."""
        return self.sweep_blocking(options, _adapt(progress))

    async def sweep_async(
        self, options: ffi.SweepOptions, progress: Optional[SweepProgressCallable] = None
    ) -> ffi.SweepSummary:
        """:meth:`sweep` for asyncio code."""
        return await super().sweep(options, _adapt(progress))
