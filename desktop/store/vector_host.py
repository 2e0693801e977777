"""The vector host: the embedded Chroma store in a process of its own, for the window.

Chroma's native calls hold Python's global lock from start to end: 15-40 ms to write 32 vectors,
and 100-250 ms each time it folds its write log into the index (every 1,000 vectors, longer as the
library grows). In the window's process every such call stalls each Python call of the GUI thread
(a slot, a paint, a status update) while indexing runs; in a child process it stalls only the child.
The command line keeps the store in its own process: it has no window to keep drawing.

One host per data folder (``Home``): every thread's workspace reaches it through ``HostedVectors``.
Calls are served one at a time, as Chroma's own lock served them in one process. The child exits
when its pipe closes, so it never outlives the app. If it dies, the call that saw it fails with a
StoreError and the next call starts a fresh child; an interrupted write is re-done from the
registry's journal, as after a crash of the whole app.
"""

from __future__ import annotations

import signal
import threading
import weakref
from collections.abc import Sequence
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from desktop.core.child_process import stop_child
from desktop.core.errors import StoreError
from desktop.store.vectors import VectorStore, write_slices

VectorMethod = Literal[
    "dimension", "upsert", "delete", "query", "vectors", "vectors_by_id", "all_vectors", "existing", "all_ids",
    "count", "reset",
]


class VectorCall(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    method: VectorMethod
    args: tuple[Any, ...] = ()


class VectorReply(BaseModel):
    """A call's value, or the exception it raised; the first reply says the store is open (or why not)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    value: Any = None
    error: BaseException | None = None


def serve(conn: Connection, path: str) -> None:
    """The child's whole life: open the store, then answer calls until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the app's to handle

    try:
        store = VectorStore(Path(path))
    except Exception as exc:
        conn.send(VectorReply(error=_portable(exc)))
        return
    conn.send(VectorReply())
    while True:
        try:
            call: VectorCall = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = VectorReply(value=getattr(store, call.method)(*call.args))
        except Exception as exc:
            reply = VectorReply(error=_portable(exc))
        conn.send(reply)


def _portable(exc: Exception) -> BaseException:
    """The exception itself when it survives the pipe, else a StoreError with its message."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return StoreError(f"The vector store failed: {exc}")
    return exc


class _Child:
    """One host process and its end of the pipe; ended at interpreter exit even if never closed."""

    def __init__(self, owner: VectorHost, path: Path) -> None:
        context = get_context("spawn")
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(target=serve, args=(child_conn, str(path)), name="hearth-vectors", daemon=True)
        self.process.start()
        child_conn.close()  # so that the child's death reads as end-of-file here
        self._finalizer = weakref.finalize(owner, stop_child, self.process, self.conn, ask=self.conn.close)
        self.opened = False

    def stop(self) -> None:
        """Closing the pipe is the request to exit: Chroma then finishes its write and closes its files."""
        if self._finalizer.detach():
            stop_child(self.process, self.conn, ask=self.conn.close)


class VectorHost:
    def __init__(self, path: Path) -> None:
        """Nothing starts until the first call."""
        self.path = path
        self._lock = threading.Lock()
        self._child: _Child | None = None

    def call(self, method: VectorMethod, *args: Any) -> Any:
        with self._lock:
            child = self._child or self._start()
            try:
                if not child.opened:
                    self._raise(child.conn.recv())
                    child.opened = True
                child.conn.send(VectorCall(method=method, args=args))
                reply: VectorReply = child.conn.recv()
            except (EOFError, OSError):
                raise self._died(child) from None
            except Exception:
                self._forget(child)  # the store did not open: the next call tries again
                raise
        return self._raise(reply)

    def store(self) -> HostedVectors:
        return HostedVectors(self)

    @property
    def pid(self) -> int | None:
        return self._child.process.pid if self._child is not None else None

    def close(self) -> None:
        """End the child; idempotent. A call in progress finishes first."""
        with self._lock:
            if self._child is not None:
                self._forget(self._child)

    def _start(self) -> _Child:
        self._child = _Child(self, self.path)
        return self._child

    def _forget(self, child: _Child) -> None:
        child.stop()
        self._child = None

    def _died(self, child: _Child) -> StoreError:
        self._forget(child)
        return StoreError(
            f"The vector store's process stopped (exit code {child.process.exitcode}); "
            "it starts again at the next request, and nothing written before is lost."
        )

    @staticmethod
    def _raise(reply: VectorReply) -> Any:
        if reply.error is not None:
            raise reply.error
        return reply.value


class HostedVectors:
    """The embedded store, as ``VectorStore`` offers it, served by the folder's vector host."""

    location = "this computer"

    def __init__(self, host: VectorHost) -> None:
        self._host = host

    def dimension(self) -> int | None:
        return self._host.call("dimension")

    # A call holds the host: writes go a slice per call, so that a search waits for one slice only.
    def upsert(self, ids: Sequence[int], embeddings: np.ndarray, document_ids: Sequence[int]) -> None:
        for part in write_slices(len(ids)):
            self._host.call("upsert", list(ids[part]), embeddings[part], list(document_ids[part]))

    def delete(self, ids: Sequence[int]) -> None:
        for part in write_slices(len(ids)):
            self._host.call("delete", list(ids[part]))

    def query(
        self, embedding: np.ndarray, limit: int, document_ids: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        documents = list(document_ids) if document_ids is not None else None
        return self._host.call("query", embedding, limit, documents)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self._host.call("vectors", list(ids))

    def vectors_by_id(self, ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
        return self._host.call("vectors_by_id", list(ids))

    def all_vectors(self, page: int = 5000) -> tuple[list[int], np.ndarray]:
        return self._host.call("all_vectors", page)

    def existing(self, ids: Sequence[int]) -> set[int]:
        return self._host.call("existing", list(ids))

    def all_ids(self) -> set[int]:
        return self._host.call("all_ids")

    def count(self) -> int:
        return self._host.call("count")

    def reset(self) -> None:
        self._host.call("reset")
