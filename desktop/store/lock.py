"""One writer per data folder: a second Hearth gets a clear refusal instead of corrupting it.

Locks are counted per process, so the window's worker threads, which each open the same data
folder, share the one lock their process holds.
"""

from __future__ import annotations

import threading
from pathlib import Path

from filelock import FileLock, Timeout

from desktop.core.errors import StoreError
from desktop.core.private import ensure_private_dir

LOCK_FILE = "hearth.lock"

_guard = threading.Lock()
_held: dict[Path, tuple[FileLock, int]] = {}


class DataFolderLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = (data_dir / LOCK_FILE).resolve()
        self._acquired = False

    def acquire(self) -> None:
        with _guard:
            lock, count = _held.get(self.path, (None, 0))
            if lock is None:
                ensure_private_dir(self.path.parent)
                lock = FileLock(str(self.path), timeout=0, mode=0o600)
                try:
                    lock.acquire()
                except Timeout:
                    raise StoreError(
                        f"Another Hearth is using {self.path.parent}. Close it (or wait until it finishes) "
                        "and try again."
                    ) from None
            _held[self.path] = (lock, count + 1)
            self._acquired = True

    def release(self) -> None:
        with _guard:
            if not self._acquired:
                return
            self._acquired = False
            lock, count = _held[self.path]
            if count > 1:
                _held[self.path] = (lock, count - 1)
            else:
                del _held[self.path]
                lock.release()
