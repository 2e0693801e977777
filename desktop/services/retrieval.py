"""Hybrid retrieval: vector similarity and BM25, fused by a weighted sum of normalised scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from enum import StrEnum
from functools import cache

from desktop.core.errors import UsageError
from desktop.core.settings import HearthSettings
from desktop.core.types import SearchHit
from desktop.services.keywords import has_identifier, query_terms, required_terms
from desktop.services.workspace import Workspace
from desktop.store.registry import StoredChunk, fts_any


class Mode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


def normalise(scores: list[tuple[int, float]]) -> dict[int, float]:
    """Min-max to [0, 1] within one retriever's candidates (a lone candidate scores 1)."""
    if not scores:
        return {}
    high = max(score for _, score in scores)
    low = min(score for _, score in scores)
    return {item: (score - low) / (high - low) if high > low else 1.0 for item, score in scores}


def convex_fusion(
    vector: list[tuple[int, float]], keyword: list[tuple[int, float]], vector_weight: float
) -> list[tuple[int, float, tuple[str, ...]]]:
    """(id, fused score, retrievers that found it), best first.

    A weighted sum of normalised scores keeps how sure each retriever is, where reciprocal rank
    fusion keeps only ranks and lets middling agreement outrank one retriever's clear best hit.
    """
    by_vector, by_keyword = normalise(vector), normalise(keyword)
    fused = {
        item: vector_weight * by_vector.get(item, 0.0) + (1 - vector_weight) * by_keyword.get(item, 0.0)
        for item in by_vector.keys() | by_keyword.keys()
    }
    ordered = sorted(fused, key=lambda item: (-fused[item], item))
    return [
        (item, fused[item], tuple(name for name, found in (("vector", by_vector), ("keyword", by_keyword))
                                  if item in found))
        for item in ordered
    ]


def cap_per_document(
    ranked: list[tuple[int, float, tuple[str, ...]]], document_of: dict[int, int], cap: int
) -> list[tuple[int, float, tuple[str, ...]]]:
    taken: dict[int, int] = defaultdict(int)
    kept = []
    for entry in ranked:
        document = document_of[entry[0]]
        if taken[document] < cap:
            taken[document] += 1
            kept.append(entry)
    return kept


@cache
def _keyword_pool() -> ThreadPoolExecutor:
    """Shared by every Retriever of the process, made on first use."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="keyword-search")


class Retriever:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def settings(self) -> HearthSettings:
        return self.workspace.settings

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        mode: Mode | None = None,
        document_ids: Sequence[int] | None = None,
    ) -> list[SearchHit]:
        query = query.strip()
        if not query:
            raise UsageError("The search query is empty.")
        k = k or self.settings.top_k
        mode = mode or (Mode.HYBRID if self.settings.hybrid else Mode.VECTOR)
        limit = max(self.settings.candidates, k * self.settings.max_per_document)

        hits, chunks = self.candidates(query, limit, mode=mode, document_ids=document_ids)
        if mode == Mode.HYBRID:
            weight = self.settings.identifier_vector_weight if has_identifier(query) else self.settings.vector_weight
            ranked = convex_fusion(hits["vector"], hits["keyword"], weight)
        else:
            name = str(mode)
            ranked = [(i, score, (name,)) for i, score in hits[name]]
        ranked = cap_per_document(
            ranked, {i: chunks[i].document_id for i, _, _ in ranked}, self.settings.max_per_document
        )
        return [
            SearchHit(
                chunk_id=i, document_id=chunks[i].document_id, path=chunks[i].path, page=chunks[i].page,
                heading=chunks[i].heading, score=score, text=chunks[i].text, start=chunks[i].start,
                end=chunks[i].end, retrievers=found_by,
            )
            for i, score, found_by in ranked[:k]
        ]

    def candidates(
        self, query: str, limit: int, *, mode: Mode, document_ids: Sequence[int] | None = None
    ) -> tuple[dict[str, list[tuple[int, float]]], dict[int, StoredChunk]]:
        """Each retriever's (chunk id, score) pairs, best first, and the chunks they name."""
        hits: dict[str, list[tuple[int, float]]] = {}
        keyword: Future[list[tuple[int, float]]] | None = None
        if mode in (Mode.HYBRID, Mode.KEYWORD):
            # SQLite and torch both release the GIL: the keyword search runs while the query is embedded.
            keyword = _keyword_pool().submit(self._keyword, query, limit, document_ids)
        if mode in (Mode.HYBRID, Mode.VECTOR):
            hits["vector"] = self._vector(query, limit, document_ids)
        if keyword is not None:
            hits["keyword"] = keyword.result()
        chunks = self.workspace.registry.chunks({i for found in hits.values() for i, _ in found})
        # Vectors whose chunk row is gone are orphans of an interrupted delete: never shown.
        return {name: [(i, score) for i, score in found if i in chunks] for name, found in hits.items()}, chunks

    def _keyword(self, query: str, limit: int, document_ids: Sequence[int] | None) -> list[tuple[int, float]]:
        terms = query_terms(query)
        if not terms:
            return []
        registry = self.workspace.registry
        passages_with, passages = registry.passages_with_terms(terms)
        required = required_terms(passages_with, passages)
        if not required:
            return []
        scored_only_with = fts_any(required) if set(required) != set(terms) else None
        return registry.keyword_search(fts_any(terms), limit, document_ids, required=scored_only_with)

    def _vector(self, query: str, limit: int, document_ids: Sequence[int] | None) -> list[tuple[int, float]]:
        embedding = self.workspace.embedder.embed([query])[0]
        return self.workspace.vectors.query(embedding, limit, document_ids)
