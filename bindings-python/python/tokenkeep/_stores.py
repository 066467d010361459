"""Token stores written in Python: the :class:`TokenStore` base and :class:`KeyringStore`.

A store keeps one opaque record of bytes per key (the account id). The core
encodes its tokens into that record (versioned JSON) and decides when to
load, save and delete; a store only keeps bytes. Subclass :class:`TokenStore`
and implement :meth:`~TokenStore.load`, :meth:`~TokenStore.save` and
:meth:`~TokenStore.delete`::

    class DictStore(tokenkeep.TokenStore):
        def __init__(self):
            super().__init__()
            self.records = {}
        def load(self, key):
            return self.records.get(key)
        def save(self, key, record):
            self.records[key] = record
        def delete(self, key):
            self.records.pop(key, None)

The core calls a store from its own threads (refreshes run there) as well as
from the caller's: implementations must be thread-safe, and must not call
back into the keeper (a blocking call from the core's thread is refused). To report a failure,
raise :class:`tokenkeep.StoreError` (``StoreError.Io(message)``,
``StoreError.Corrupt(message)``, ...); any other exception becomes
``StoreError.Failed``. Callers then get a :class:`tokenkeep.StorageError`.
Never put the record's content in a message.

``lock``/``unlock`` default to doing nothing, which is right for a store
private to one process (the core already serializes a session's own writes).
A store shared by several processes overrides them with a lock exclusive
across processes, so two processes never refresh the same rotating refresh
token at once.

A record holds live credentials: a store that writes to disk must encrypt it.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Optional

from ._uniffi import tokenkeep as _ffi

__all__ = ["TokenStore", "KeyringStore", "StoreError"]

if TYPE_CHECKING:
    # The generated module sets the variants as attributes at import time,
    # which type checkers cannot see: this is their stub.

    class StoreError(Exception):
        """What a store raises; the variant says which kind of failure."""

        message: str

        class Io(Exception):
            def __init__(self, message: str) -> None: ...

        class WrongKey(Exception):
            def __init__(self, message: str) -> None: ...

        class Corrupt(Exception):
            def __init__(self, message: str) -> None: ...

        class LockTimeout(Exception):
            def __init__(self, message: str) -> None: ...

        class Failed(Exception):
            def __init__(self, message: str) -> None: ...

else:
    StoreError = _ffi.StoreError


class TokenStore(_ffi.TokenStore):
    """Base class of stores written in Python: implement ``load``, ``save``
    and ``delete``; ``lock`` and ``unlock`` do nothing unless overridden."""

    def load(self, key: str) -> Optional[bytes]:
        """The record stored under ``key``, or ``None`` when there is none."""
        raise NotImplementedError

    def save(self, key: str, record: bytes) -> None:
        """Replaces the record under ``key`` (atomically, for stores that persist)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Removes the record under ``key``; a missing record is not an error."""
        raise NotImplementedError

    def lock(self, key: str, timeout_ms: int) -> None:
        """Takes the exclusive lock on ``key`` (no-op by default)."""

    def unlock(self, key: str) -> None:
        """Releases the lock taken with :meth:`lock` (no-op by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class KeyringStore(TokenStore):
    """Keeps records in the operating system's credential store through the
    optional `keyring <https://pypi.org/project/keyring/>`_ package
    (``pip install "tokenkeep[keyring]"``): macOS Keychain, Windows
    Credential Locker, the Secret Service on Linux desktops.

    Each account's record is one keyring entry under ``service_name`` with
    the account id as user name, base64-encoded (keyring stores text).
    ``keyring_backend`` overrides the default backend (tests pass an
    in-memory one).
    """

    def __init__(self, service_name: str = "tokenkeep", *, keyring_backend: Any = None) -> None:
        super().__init__()
        try:
            import keyring
            import keyring.errors
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError('KeyringStore needs the keyring package: pip install "tokenkeep[keyring]"') from error
        self.service_name = service_name
        self._backend = keyring_backend if keyring_backend is not None else keyring.get_keyring()
        self._errors = keyring.errors

    def load(self, key: str) -> Optional[bytes]:
        try:
            text = self._backend.get_password(self.service_name, key)
        except self._errors.KeyringError as error:
            raise StoreError.Io(self._describe("read", key, error)) from None
        if text is None:
            return None
        try:
            return base64.b64decode(text.encode("ascii"), validate=True)
        except ValueError:
            raise StoreError.Corrupt(f"keyring entry `{key}` of service `{self.service_name}` is not base64") from None

    def save(self, key: str, record: bytes) -> None:
        text = base64.b64encode(record).decode("ascii")
        try:
            self._backend.set_password(self.service_name, key, text)
        except self._errors.KeyringError as error:
            raise StoreError.Io(self._describe("write", key, error)) from None

    def delete(self, key: str) -> None:
        try:
            self._backend.delete_password(self.service_name, key)
        except self._errors.PasswordDeleteError:
            pass  # nothing stored: not an error
        except self._errors.KeyringError as error:
            raise StoreError.Io(self._describe("delete", key, error)) from None

    def _describe(self, doing: str, key: str, error: Exception) -> str:
        where = f"keyring entry `{key}` of service `{self.service_name}`"
        return f"could not {doing} {where}: {type(error).__name__}: {error}"

    def __repr__(self) -> str:
        return f"KeyringStore(service_name={self.service_name!r})"
