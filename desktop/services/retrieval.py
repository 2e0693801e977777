"""Hybrid retrieval: vector similarity and BM25 fused by weighted reciprocal rank fusion."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from enum import StrEnum

from desktop.core.errors import UsageError
from desktop.core.settings import HearthSettings
from desktop.core.types import SearchHit
from desktop.services.keywords import fts_query
from desktop.services.workspace import Workspace


class Mode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


def reciprocal_rank_fusion(
    rankings: dict[str, list[int]], weights: dict[str, float], k: int
) -> list[tuple[int, float, tuple[str, ...]]]:
    """(id, fused score, retrievers that found it), best first; ``k`` damps the top ranks."""
    scores: dict[int, float] = defaultdict(float)
    found_by: dict[int, list[str]] = defaultdict(list)
    for name, ranking in rankings.items():
        for rank, item in enumerate(ranking, start=1):
            scores[item] += weights.get(name, 1.0) / (k + rank)
            found_by[item].append(name)
    ordered = sorted(scores, key=lambda item: (-scores[item], item))
    return [(item, scores[item], tuple(found_by[item])) for item in ordered]


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

        rankings: dict[str, list[int]] = {}
        raw_scores: dict[str, dict[int, float]] = {}
        if mode in (Mode.HYBRID, Mode.VECTOR):
            hits = self._vector(query, limit, document_ids)
            rankings["vector"] = [i for i, _ in hits]
            raw_scores["vector"] = dict(hits)
        if mode in (Mode.HYBRID, Mode.KEYWORD):
            match = fts_query(query)
            hits = self.workspace.registry.keyword_search(match, limit, document_ids) if match else []
            rankings["keyword"] = [i for i, _ in hits]
            raw_scores["keyword"] = dict(hits)

        chunks = self.workspace.registry.chunks({i for ranking in rankings.values() for i in ranking})
        # Vectors whose chunk row is gone are orphans of an interrupted delete: never shown.
        rankings = {name: [i for i in ranking if i in chunks] for name, ranking in rankings.items()}
        if mode == Mode.HYBRID:
            weights = {"vector": self.settings.vector_weight, "keyword": self.settings.keyword_weight}
            ranked = reciprocal_rank_fusion(rankings, weights, self.settings.rrf_k)
        else:
            name = str(mode)
            ranked = [(i, raw_scores[name][i], (name,)) for i in rankings[name]]
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

    def _vector(self, query: str, limit: int, document_ids: Sequence[int] | None) -> list[tuple[int, float]]:
        embedding = self.workspace.embedder.embed([query])[0]
        return self.workspace.vectors.query(embedding, limit, document_ids)
