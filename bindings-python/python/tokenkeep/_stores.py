"""Token stores written in Python: :class:`TokenStore` and :class:`KeyringStore`.

A store keeps one opaque record of bytes per key (the account id): implement
``load``/``save``/``delete``, thread-safe, never calling back into the keeper;
fail with ``StoreError.Io(detail)`` (or ``Corrupt``, ...) without quoting the
record. The core holds each account's in-process lock, so ``lock``/``unlock``
do nothing unless overridden with a cross-process lock (README: "Stores").
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import ffi

if TYPE_CHECKING:  # the generated variants, which type checkers cannot see

    class _Variant(Exception):
        detail: str

        def __init__(self, detail: str) -> None: ...

    class StoreError(_Variant):
        Io = WrongKey = Corrupt = LockTimeout = Failed = _Variant

else:
    StoreError = ffi.StoreError


class TokenStore(ffi.TokenStore):
    """Base class of stores written in Python: implement ``load``, ``save``, ``delete``."""

    def lock(self, key: str, timeout_ms: int) -> None:
        """Takes a lock on ``key`` exclusive across processes (no-op by default)."""

    def unlock(self, key: str) -> None:
        """Releases the lock taken with :meth:`lock` (no-op by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class KeyringStore(TokenStore):
    """Keeps records in the OS credential store (macOS Keychain, Windows
    Credential Locker, Secret Service) through the optional ``keyring``
    package (``pip install "tokenkeep[keyring]"``): one entry per account
    under ``service_name``, base64 text. ``keyring_backend`` overrides the
    default backend (tests pass an in-memory one)."""

    def __init__(self, service_name: str = "tokenkeep", *, keyring_backend: Any = None) -> None:
        try:
            import keyring.errors
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError('KeyringStore needs keyring: pip install "tokenkeep[keyring]"') from error
        self.service_name = service_name
        self._backend = keyring_backend if keyring_backend is not None else keyring.get_keyring()
        self._errors = keyring.errors

    def load(self, key: str) -> Optional[bytes]:
        text = self._call("read", key, self._backend.get_password, self.service_name, key)
        try:
            return None if text is None else base64.b64decode(text.encode("ascii"), validate=True)
        except ValueError:
            raise StoreError.Corrupt(f"keyring entry `{key}` of service `{self.service_name}` is not base64") from None

    def save(self, key: str, record: bytes) -> None:
        self._call("write", key, self._backend.set_password, self.service_name, key, base64.b64encode(record).decode())

    def delete(self, key: str) -> None:
        self._call("delete", key, self._backend.delete_password, self.service_name, key)

    def _call(self, doing: str, key: str, method: Callable[..., Any], *args: str) -> Any:
        try:
            return method(*args)
        except self._errors.PasswordDeleteError:
            return None  # delete() of an entry that is not there: nothing to do
        except self._errors.KeyringError as error:
            where = f"keyring entry `{key}` of service `{self.service_name}`"
            raise StoreError.Io(f"could not {doing} {where}: {type(error).__name__}: {error}") from None

    def __repr__(self) -> str:
        return f"KeyringStore(service_name={self.service_name!r})"
