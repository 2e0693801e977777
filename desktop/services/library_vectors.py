"""The library's passages as vectors, for the topic map, library drift and near-duplicates: read
once from the registry (which passages count) and Chroma (their vectors)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.services.workspace import Workspace


@dataclass(frozen=True)
class LibraryVectors:
    chunk_ids: np.ndarray  # int64, one per passage, ascending
    document_ids: np.ndarray  # int64
    indexed_at: np.ndarray  # float64: when the passage's document was indexed
    vectors: np.ndarray  # float32, unit length, one row per passage

    def __len__(self) -> int:
        return len(self.chunk_ids)


def load_library(workspace: Workspace) -> LibraryVectors:
    """Passages of indexed documents that have a vector (an orphan or missing vector is left out)."""
    rows = workspace.registry.chunk_documents()
    if not rows:
        return _empty()
    ids, vectors = workspace.vectors.all_vectors()
    row_of = {chunk_id: i for i, chunk_id in enumerate(ids)}
    kept = [row for row in rows if row[0] in row_of]
    if not kept:
        return _empty()
    return LibraryVectors(
        chunk_ids=np.array([r[0] for r in kept], dtype=np.int64),
        document_ids=np.array([r[1] for r in kept], dtype=np.int64),
        indexed_at=np.array([r[2] for r in kept], dtype=np.float64),
        vectors=vectors[[row_of[r[0]] for r in kept]],
    )


def passage_texts(workspace: Workspace, chunk_ids: np.ndarray) -> list[str]:
    found = workspace.registry.chunks(int(i) for i in chunk_ids)
    return [found[int(i)].text if int(i) in found else "" for i in chunk_ids]


def _empty() -> LibraryVectors:
    return LibraryVectors(
        chunk_ids=np.zeros(0, np.int64), document_ids=np.zeros(0, np.int64),
        indexed_at=np.zeros(0, np.float64), vectors=np.zeros((0, 0), np.float32),
    )
