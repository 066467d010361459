"""The core's log lines on Python's ``logging``: logger ``tokenkeep`` and its children.

Each record goes to the logger named after its Rust module (``tokenkeep.session``,
...), TRACE as level 5, fields on the record as ``tokenkeep_fields``. The core
filters by the most verbose level of these loggers, read at import and when a
keeper is made (:func:`sync_log_level` after changing it).
"""

from __future__ import annotations

import logging

from . import ffi

TRACE = 5
_TO_PYTHON = {
    ffi.LogLevel.ERROR: logging.ERROR,
    ffi.LogLevel.WARN: logging.WARNING,
    ffi.LogLevel.INFO: logging.INFO,
    ffi.LogLevel.DEBUG: logging.DEBUG,
    ffi.LogLevel.TRACE: TRACE,
}


def _core_level() -> ffi.LogLevel:
    """The most verbose core level that ``tokenkeep`` or a child of it would show."""
    loggers = [logging.getLogger("tokenkeep")] + [
        logger
        for name, logger in list(logging.root.manager.loggerDict.items())
        if name.startswith("tokenkeep.") and isinstance(logger, logging.Logger)
    ]
    level = min(logger.getEffectiveLevel() for logger in loggers)
    for core, python in sorted(_TO_PYTHON.items(), key=lambda item: item[1]):
        if python >= level:
            return core
    return ffi.LogLevel.ERROR


class _LoggingSink(ffi.LogSink):
    def log(self, record: ffi.LogRecord) -> None:
        try:
            level = _TO_PYTHON.get(record.level, logging.WARNING)
            name = record.target.replace("::", ".") if record.target.startswith("tokenkeep") else "tokenkeep"
            logger = logging.getLogger(name)
            if logger.isEnabledFor(level):
                text = f"{record.message} ({record.fields})" if record.fields else record.message
                logger.log(level, "%s", text, extra={"tokenkeep_fields": record.fields})
        except Exception:  # a logging failure must not reach the core's event thread
            pass


def sync_log_level() -> None:
    """Passes the effective level of logger ``tokenkeep`` (and children) to the core."""
    ffi.set_log_level(_core_level())


_installed = False


def install() -> None:
    """Called once, at import: the core's records go to ``logging`` until exit."""
    global _installed
    _installed = ffi.set_log_sink(_LoggingSink(), _core_level())


def uninstall() -> None:
    """Called at exit (by ``_keeper``'s exit hook, before its one drain of the
    event queue): no record is handed to ``logging`` after this."""
    global _installed
    if _installed:
        _installed = False
        try:
            ffi.clear_log_sink()
        except Exception:  # never fail an exit because of this
            pass
