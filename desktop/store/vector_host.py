"""The vector host: the embedded Chroma store in a process of its own, for the window.

Chroma's native calls hold Python's global lock from start to end: 15-40 ms to write 32 vectors,
and 100-280 ms each time it folds its write log into the index (every 1,000 vectors, longer as the
library grows). In the window's process every such call stalls each Python call of the GUI thread
(a slot, a paint, a status update) while indexing runs; in a child process it stalls only the child.
The command line keeps the store in its own process: it has no window to keep drawing.

One host per data folder (``Home``): every thread's workspace reaches it through ``HostedVectors``.
Calls are served one at a time, as the global lock served them in one process. The child exits
when its pipe closes, so it never outlives the app. If it dies, the call that saw it fails with a
StoreError and the next call starts a fresh child; an interrupted write is re-done from the
registry's journal, as after a crash of the whole app.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import weakref
from collections.abc import Sequence
from multiprocessing import BufferTooShort, get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from desktop.core.child_process import stop_child
from desktop.core.errors import StoreError
from desktop.store.vectors import VectorStore, write_slices

VectorMethod = Literal[
    "dimension", "upsert", "delete", "query", "vectors", "vectors_by_id", "existing", "all_ids", "count", "reset",
]


class VectorCall(BaseModel):
    """App to child (pickled: the child trusts the app)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    method: VectorMethod
    args: tuple[Any, ...] = ()


class VectorReply(BaseModel):
    """Child to app, as JSON: the app never unpickles what a child sends (see the parse workers). A float32
    array, when ``shape`` is set, follows in a frame of its own; the first reply says the store opened."""

    model_config = ConfigDict(frozen=True)

    number: int | None = None
    ids: list[int] | None = None
    pairs: list[tuple[int, float]] | None = None
    shape: tuple[int, int] | None = None
    error: str | None = None


def serve(conn: Connection, path: str) -> None:
    """The child's whole life: open the store, then answer calls until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the app's to handle
    with contextlib.suppress(EOFError, OSError):  # the app hung up: it is closing
        _serve(conn, Path(path))


def _serve(conn: Connection, path: Path) -> None:
    try:
        store = VectorStore(path)
    except Exception as exc:
        _send(conn, VectorReply(error=f"The vectors in {path} could not be opened: {exc}"))
        return
    _send(conn, VectorReply())
    while True:
        call: VectorCall = conn.recv()
        try:
            reply, array = _encode(getattr(store, call.method)(*call.args))
        except Exception as exc:
            reply, array = VectorReply(error=str(exc) or type(exc).__name__), None
        _send(conn, reply, array)


def _encode(value: Any) -> tuple[VectorReply, np.ndarray | None]:
    """Any value ``VectorStore`` returns, as a reply and its array."""
    if isinstance(value, tuple):  # ids with their vectors
        ids, array = value
        return VectorReply(ids=ids, shape=array.shape), array
    if isinstance(value, np.ndarray):
        return VectorReply(shape=value.shape), value
    if isinstance(value, set):
        return VectorReply(ids=sorted(value)), None
    if isinstance(value, list):
        return VectorReply(pairs=value), None
    return VectorReply(number=value), None


def _send(conn: Connection, reply: VectorReply, array: np.ndarray | None = None) -> None:
    conn.send_bytes(reply.model_dump_json(exclude_none=True).encode())
    if array is not None:
        conn.send_bytes(np.ascontiguousarray(array, dtype=np.float32).tobytes())


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
        """Closing the pipe is the request to exit: Chroma then finishes its write and closes its files.
        A child still starting has nothing to finish: it is not waited for."""
        if self._finalizer.detach():
            stop_child(self.process, self.conn, ask=self.conn.close if self.opened else None)


class VectorHost:
    def __init__(self, path: Path) -> None:
        """Nothing starts until the first call."""
        self.path = path
        self._lock = threading.Lock()
        self._child: _Child | None = None

    def call(self, method: VectorMethod, *args: Any) -> tuple[VectorReply, np.ndarray]:
        """The reply, and its array (empty when it carries none); the child's failure as a StoreError."""
        with self._lock:
            child = self._child or self._start()
            try:
                if not child.opened:
                    opening = self._receive(child)[0]
                    if opening.error is not None:
                        self._forget(child)  # the store did not open: the next call tries again
                        raise StoreError(opening.error)
                    child.opened = True
                child.conn.send(VectorCall(method=method, args=args))
                reply, array = self._receive(child)
            except (EOFError, OSError, ValueError, BufferTooShort):  # ValueError: a malformed reply
                raise self._died(child) from None
        if reply.error is not None:
            raise StoreError(reply.error)
        return reply, array

    @staticmethod
    def _receive(child: _Child) -> tuple[VectorReply, np.ndarray]:
        reply = VectorReply.model_validate_json(child.conn.recv_bytes())
        shape = reply.shape or (0, 0)
        buffer = bytearray(shape[0] * shape[1] * 4)  # float32; read into it without a copy
        if reply.shape is not None and child.conn.recv_bytes_into(buffer) != len(buffer):
            raise ValueError("a short array")
        return reply, np.frombuffer(buffer, dtype=np.float32).reshape(shape)

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
        """The child is gone (or sent what no child of ours sends): ended, and started afresh next time."""
        self._forget(child)
        return StoreError(
            f"The vector store's process stopped (exit code {child.process.exitcode}); "
            "it starts again at the next request, and nothing written before is lost."
        )


class HostedVectors:
    """The embedded store, as ``VectorStore`` offers it, served by the folder's vector host."""

    location = "this computer"

    def __init__(self, host: VectorHost) -> None:
        self._host = host

    def dimension(self) -> int | None:
        return self._host.call("dimension")[0].number

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
        return self._host.call("query", embedding, limit, documents)[0].pairs or []

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        return self._host.call("vectors", list(ids))[1]

    def vectors_by_id(self, ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
        reply, array = self._host.call("vectors_by_id", list(ids))
        return reply.ids or [], array

    def existing(self, ids: Sequence[int]) -> set[int]:
        return set(self._host.call("existing", list(ids))[0].ids or [])

    def all_ids(self) -> set[int]:
        return set(self._host.call("all_ids")[0].ids or [])

    def count(self) -> int:
        return self._host.call("count")[0].number or 0

    def reset(self) -> None:
        self._host.call("reset")
