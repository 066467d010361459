"""The core's log lines on Python's ``logging``: logger ``tokenkeep``.

On import, tokenkeep installs a ``LogSink`` in the core that hands each
record to the standard library logger named after the record's Rust module:
``tokenkeep.session``, ``tokenkeep.store.sqlite`` and so on, all children of
``tokenkeep``. Levels map ERROR -> ``ERROR``, WARN -> ``WARNING``, INFO ->
``INFO``, DEBUG -> ``DEBUG``, TRACE -> 5 (below ``DEBUG``). The message is
the record's message followed by its fields, for example
``token refresh failed (account=default error=...)``; the fields are also on
the ``LogRecord`` as ``tokenkeep_fields``. No record carries a token.

Every record that crosses from Rust into Python costs tens of microseconds,
so the core filters by level before crossing. The core's level follows the
effective level of logger ``tokenkeep`` (or of a child of it, if one is
more verbose): it is read at import and again whenever a ``Keeper`` is
created. To change it later, set the level and re-sync::

    logging.getLogger("tokenkeep").setLevel(logging.DEBUG)
    tokenkeep.sync_log_level()

Records are delivered on the core's event thread, like listener events. At
exit the sink is removed and that thread drained, so nothing calls into a
finalizing interpreter.
"""

from __future__ import annotations

import atexit
import logging

from ._uniffi import tokenkeep as _ffi

__all__ = ["install", "sync_log_level", "LOGGER_NAME", "TRACE"]

#: The parent logger of every tokenkeep record.
LOGGER_NAME = "tokenkeep"

#: The ``logging`` level of the core's TRACE records.
TRACE = 5

#: The longest wait at exit for records already being delivered, in seconds.
_EXIT_DRAIN_TIMEOUT = 1.0

_TO_PYTHON = {
    _ffi.LogLevel.ERROR: logging.ERROR,
    _ffi.LogLevel.WARN: logging.WARNING,
    _ffi.LogLevel.INFO: logging.INFO,
    _ffi.LogLevel.DEBUG: logging.DEBUG,
    _ffi.LogLevel.TRACE: TRACE,
}


def _logger_name(target: str) -> str:
    """``tokenkeep::store::sqlite`` -> ``tokenkeep.store.sqlite``."""
    return target.replace("::", ".") if target.startswith(LOGGER_NAME) else LOGGER_NAME


def _core_level(python_level: int) -> _ffi.LogLevel:
    """The most verbose core level a logger at ``python_level`` would show."""
    if python_level <= TRACE:
        return _ffi.LogLevel.TRACE
    if python_level <= logging.DEBUG:
        return _ffi.LogLevel.DEBUG
    if python_level <= logging.INFO:
        return _ffi.LogLevel.INFO
    if python_level <= logging.WARNING:
        return _ffi.LogLevel.WARN
    return _ffi.LogLevel.ERROR


def _effective_level() -> int:
    """The most verbose effective level among ``tokenkeep`` and its children."""
    levels = [logging.getLogger(LOGGER_NAME).getEffectiveLevel()]
    prefix = LOGGER_NAME + "."
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith(prefix) and isinstance(logger, logging.Logger):
            levels.append(logger.getEffectiveLevel())
    return min(levels)


class _LoggingSink(_ffi.LogSink):
    """Hands the core's records to ``logging`` (called on the core's event thread)."""

    def log(self, record: _ffi.LogRecord) -> None:
        try:
            level = _TO_PYTHON.get(record.level, logging.WARNING)
            logger = logging.getLogger(_logger_name(record.target))
            if not logger.isEnabledFor(level):
                return
            if record.fields:
                logger.log(level, "%s (%s)", record.message, record.fields, extra={"tokenkeep_fields": record.fields})
            else:
                logger.log(level, "%s", record.message, extra={"tokenkeep_fields": ""})
        except Exception:  # a logging failure must not reach the core's event thread
            pass

    def __repr__(self) -> str:
        return "_LoggingSink()"


_installed = False


def sync_log_level() -> None:
    """Passes the effective level of logger ``tokenkeep`` (see above) to the core.

    Call it after changing that logger's level (or its children's); creating
    a ``Keeper`` calls it too.
    """
    if _installed:
        _ffi.set_log_level(_core_level(_effective_level()))


def _uninstall() -> None:
    global _installed
    try:
        _installed = False
        _ffi.clear_log_sink()
        # A record whose delivery began before the sink was removed finishes
        # now, while the interpreter is still whole.
        _ffi.flush_listener_events(int(_EXIT_DRAIN_TIMEOUT * 1000))
    except Exception:  # never fail an exit because of this
        pass


def install() -> None:
    """Installs the sink (once; called on import of :mod:`tokenkeep`)."""
    global _installed
    if _installed:
        return
    _installed = _ffi.set_log_sink(_LoggingSink(), _core_level(_effective_level()))
    if _installed:
        atexit.register(_uninstall)
