"""The Chroma collection of chunk vectors. It only mirrors ids held by the registry.

Embedded (a folder in the data folder) or on a Chroma server (``desktop.store.chroma_server``); the
same code writes both, so the registry's journal keeps either consistent after a crash."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import StoreError
from desktop.core.offline import enforce_offline
from desktop.core.private import ensure_private_dir
from desktop.store import chroma_server

COLLECTION = "chunks"
LIBRARY_KEY = "hearth:library"  # which library a server's collection belongs to
# Chroma shares one system per folder between clients, and makes and counts it without a lock: two threads
# opening the same folder at once (the window's indexer and engine) can stop it under each other.
_EMBEDDED_OPENING = threading.Lock()
# Chroma's native writes hold Python's global lock for the whole call (~100 ms per 256 vectors), and
# a store serves one write at a time: small slices with a pause between them let another thread (the
# window's, or a search while indexing runs) in between two of them.
WRITE_SLICE = 32
WRITE_PAUSE_S = 0.005
REMOTE_WRITE_SLICE = 1000


def write_slices(count: int, *, remote: bool = False) -> Iterator[slice]:
    """WRITE_SLICE items at a time, pausing between slices; a server does the work in its own
    process, so a request there carries REMOTE_WRITE_SLICE (a round trip each)."""
    size = REMOTE_WRITE_SLICE if remote else WRITE_SLICE
    for start in range(0, count, size):
        if start and not remote:
            time.sleep(WRITE_PAUSE_S)
        yield slice(start, start + size)


@dataclass(frozen=True)
class ServerCollection:
    """Where a library's vectors live on a Chroma server."""

    url: str
    token: str | None = field(repr=False)
    name: str
    library: str  # the library's id (registry), kept in the collection's metadata
    timeout_s: float


class VectorStore:
    def __init__(self, path: Path | None = None, *, server: ServerCollection | None = None) -> None:
        """Embedded in ``path``, or in ``server``'s collection (checked before anything is written)."""
        enforce_offline()
        self.server = server
        if server is None:
            assert path is not None
            self.collection_name = COLLECTION
            with _EMBEDDED_OPENING:
                self._client = _embedded_client(path)
                self._collection = self._open()
            return
        self._client = chroma_server.client(server.url, server.token, server.timeout_s)
        self.collection_name = server.name
        with self._failures():
            self._collection = self._open()
            self._check_owner(server)

    def _open(self) -> Any:
        metadata: dict[str, Any] = {"hnsw:space": "cosine"}
        if self.server is not None:
            metadata[LIBRARY_KEY] = self.server.library
        return self._client.get_or_create_collection(self.collection_name, metadata=metadata, embedding_function=None)

    def _check_owner(self, server: ServerCollection) -> None:
        """Two libraries sharing one collection would overwrite each other's vectors (ids are per library).
        An empty collection made by someone else (an administrator, say) is made again as this library's,
        so that it also measures cosine distance."""
        if (self._collection.metadata or {}).get(LIBRARY_KEY) == server.library:
            return
        if self._collection.count():
            raise StoreError(
                f"The collection {server.name!r} on {server.url} holds another library's vectors: choose another "
                "collection name (backends.collection)."
            )
        self.reset()

    def _failures(self) -> contextlib.AbstractContextManager[None]:
        """On a server, a failed call is a StoreError naming it; embedded calls fail as they always did."""
        return chroma_server.failures(self.server.url) if self.server is not None else contextlib.nullcontext()

    @property
    def location(self) -> str:
        """Where the vectors are, for messages."""
        return f"the collection {self.collection_name!r} on {self.server.url}" if self.server else "this computer"

    def dimension(self) -> int | None:
        """The length of the stored vectors; None when there are none yet."""
        with self._failures():
            found = self._collection.get(limit=1, include=["embeddings"])["embeddings"]
        return len(found[0]) if found is not None and len(found) else None

    def upsert(self, ids: Sequence[int], embeddings: np.ndarray, document_ids: Sequence[int]) -> None:
        for part in write_slices(len(ids), remote=self.server is not None):
            with self._failures():
                self._collection.upsert(
                    ids=[str(i) for i in ids[part]],
                    embeddings=embeddings[part],
                    metadatas=[{"doc": int(d)} for d in document_ids[part]],
                )

    def delete(self, ids: Sequence[int]) -> None:
        for part in write_slices(len(ids), remote=self.server is not None):
            with self._failures():
                self._collection.delete(ids=[str(i) for i in ids[part]])

    def query(
        self, embedding: np.ndarray, limit: int, document_ids: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first. An empty collection answers with no ids: counting it
        first cost 3 ms a search."""
        where = {"doc": {"$in": [int(d) for d in document_ids]}} if document_ids is not None else None
        with self._failures():
            result = self._collection.query(
                query_embeddings=[embedding], n_results=limit, where=where, include=["distances"]
            )
        return [(int(i), 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``ids`` (those that exist), one row each."""
        return self.vectors_by_id(ids)[1]

    def vectors_by_id(self, ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
        """The stored vectors of ``ids`` (those that exist) with their ids: the store's order is its own."""
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        with self._failures():
            result = self._collection.get(ids=[str(i) for i in ids], include=["embeddings"])
        found = result["embeddings"]
        if found is None or not len(found):
            return [], np.zeros((0, 0), dtype=np.float32)
        return [int(i) for i in result["ids"]], np.asarray(found, dtype=np.float32)

    def all_vectors(self, page: int = 5000) -> tuple[list[int], np.ndarray]:
        """Every stored vector with its id, read a page at a time."""
        ids: list[int] = []
        parts: list[np.ndarray] = []
        for offset in range(0, self.count(), page):
            result = self._collection.get(limit=page, offset=offset, include=["embeddings"])
            if not len(result["ids"]):
                break
            ids.extend(int(i) for i in result["ids"])
            parts.append(np.asarray(result["embeddings"], dtype=np.float32))
        return ids, (np.vstack(parts) if parts else np.zeros((0, 0), dtype=np.float32))

    def existing(self, ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(ids), 5000):
            batch = [str(i) for i in ids[start : start + 5000]]
            with self._failures():
                found.update(int(i) for i in self._collection.get(ids=batch, include=[])["ids"])
        return found

    def all_ids(self) -> set[int]:
        with self._failures():
            return {int(i) for i in self._collection.get(include=[])["ids"]}

    def count(self) -> int:
        with self._failures():
            return int(self._collection.count())

    def reset(self) -> None:
        """Drop every vector (the registry can rebuild them)."""
        with self._failures():
            self._client.delete_collection(self.collection_name)
            self._collection = self._open()


def _embedded_client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    ensure_private_dir(path)  # Chroma's own files are private through the entry points' umask
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=True))
