"""The library's passages for the topic map, library drift and their updates: which passages count
and whose they are, from the registry; their vectors read from the vector store only for the rows
asked for. An update after indexing needs the new passages and a sample, not all 100,000 vectors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from desktop.services.workspace import Workspace

READ_BATCH = 2000  # ids per read from the vector store
VectorReader = Callable[[Sequence[int]], tuple[list[int], np.ndarray]]


@dataclass(frozen=True)
class LibraryVectors:
    chunk_ids: np.ndarray  # int64, one per passage of an indexed document, ascending
    document_ids: np.ndarray  # int64
    indexed_at: np.ndarray  # float64: when the passage's document was indexed
    dimension: int  # of the vectors; 0 when there are none
    read: VectorReader  # stored vectors by chunk id, with their ids

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """Float32 vectors of the passages at ``rows``, read by id a batch at a time (all 11,000 of the Git
        docs in about the time paging through the collection takes). A passage whose vector is missing (a
        crash between the two stores, until `hearth check --repair`) reads as zeros."""
        unique, back = np.unique(self.chunk_ids[rows], return_inverse=True)
        found = np.zeros((len(unique), self.dimension), dtype=np.float32)
        for start in range(0, len(unique), READ_BATCH):
            batch = unique[start : start + READ_BATCH]
            stored_ids, stored = self.read(batch.tolist())
            if stored_ids:  # a subset of the (ascending) batch, in the store's order
                found[start + np.searchsorted(batch, stored_ids)] = stored
        return found[back.ravel()]

    def all_vectors(self) -> np.ndarray:
        return self.vectors_of(np.arange(len(self)))


def load_library(workspace: Workspace) -> LibraryVectors:
    """The passages of indexed documents (their vectors are read when asked for)."""
    rows = workspace.registry.chunk_documents()
    dimension = (workspace.vectors.dimension() or 0) if rows else 0
    return LibraryVectors(
        chunk_ids=np.array([r[0] for r in rows], dtype=np.int64),
        document_ids=np.array([r[1] for r in rows], dtype=np.int64),
        indexed_at=np.array([r[2] for r in rows], dtype=np.float64),
        dimension=dimension, read=workspace.vectors.vectors_by_id,
    )


def passage_texts(workspace: Workspace, chunk_ids: np.ndarray) -> list[str]:
    found = workspace.registry.chunks(int(i) for i in chunk_ids)
    return [found[int(i)].text if int(i) in found else "" for i in chunk_ids]
