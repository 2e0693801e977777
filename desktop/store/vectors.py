"""The Chroma collection of chunk vectors. It only mirrors ids held by the registry."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.offline import enforce_offline
from desktop.core.private import ensure_private_dir

COLLECTION = "chunks"
# Chroma's native writes hold Python's global lock for the whole call (~100 ms per 256 vectors):
# small slices with a pause between them let the window's thread draw while indexing runs.
WRITE_SLICE = 32
WRITE_PAUSE_S = 0.005


def _write_slices(count: int) -> Iterator[slice]:
    """WRITE_SLICE items at a time, pausing between slices."""
    for start in range(0, count, WRITE_SLICE):
        if start:
            time.sleep(WRITE_PAUSE_S)
        yield slice(start, start + WRITE_SLICE)


class VectorStore:
    def __init__(self, path: Path) -> None:
        enforce_offline()
        import chromadb
        from chromadb.config import Settings

        ensure_private_dir(path)  # Chroma's own files are private through the entry points' umask
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=True)
        )
        self._collection = self._open()

    def _open(self) -> Any:
        return self._client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )

    def upsert(self, ids: Sequence[int], embeddings: np.ndarray, document_ids: Sequence[int]) -> None:
        for part in _write_slices(len(ids)):
            self._collection.upsert(
                ids=[str(i) for i in ids[part]],
                embeddings=embeddings[part],
                metadatas=[{"doc": int(d)} for d in document_ids[part]],
            )

    def delete(self, ids: Sequence[int]) -> None:
        for part in _write_slices(len(ids)):
            self._collection.delete(ids=[str(i) for i in ids[part]])

    def query(
        self, embedding: np.ndarray, limit: int, document_ids: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity), best first."""
        if self.count() == 0:
            return []
        where = {"doc": {"$in": [int(d) for d in document_ids]}} if document_ids is not None else None
        result = self._collection.query(
            query_embeddings=[embedding], n_results=limit, where=where, include=["distances"]
        )
        return [(int(i), 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0], strict=True)]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``ids`` (those that exist), one row each."""
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        result = self._collection.get(ids=[str(i) for i in ids], include=["embeddings"])
        found = result["embeddings"]
        return np.asarray(found, dtype=np.float32) if found is not None and len(found) else np.zeros((0, 0), np.float32)

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
            found.update(int(i) for i in self._collection.get(ids=batch, include=[])["ids"])
        return found

    def all_ids(self) -> set[int]:
        return {int(i) for i in self._collection.get(include=[])["ids"]}

    def count(self) -> int:
        return int(self._collection.count())

    def reset(self) -> None:
        """Drop every vector (the registry can rebuild them)."""
        self._client.delete_collection(COLLECTION)
        self._collection = self._open()
