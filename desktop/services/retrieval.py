"""Hybrid retrieval: vector and keyword candidates, fused by rank, ranked by document.

Each retriever's passages are fused by reciprocal rank (ranks only: the two scores live on
scales that no normalisation makes comparable across libraries). Documents are then ranked by
all the evidence their passages carry, so a document with several good passages outranks one
lucky passage; copies of one text (a page and its source, a quoted page) collapse into one hit
that names every file holding it. The best passage of each top document is shown first; more
passages of the top documents fill the rest. ``docs/retrieval.md`` says how each setting was
chosen, on two corpora, and what was tried and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from desktop.core.errors import UsageError
from desktop.core.settings import HearthSettings
from desktop.core.types import SearchHit
from desktop.services import ranking
from desktop.services.keywords import is_identifier, query_terms, required_terms
from desktop.services.workspace import Workspace
from desktop.store.registry import StoredChunk, fts_any


class Mode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


@cache
def _keyword_pool() -> ThreadPoolExecutor:
    """Shared by every Retriever of the process, made on first use."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="keyword-search")


@dataclass(frozen=True)
class Candidates:
    lists: dict[str, list[tuple[int, float]]]  # retriever -> (chunk id, score), best first
    chunks: dict[int, StoredChunk]
    rarest: int | None  # passages holding the question's rarest identifier; None: it names none


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
        """The best passages for ``query``: the best one of each of the top documents first."""
        query = query.strip()
        if not query:
            raise UsageError("The search query is empty.")
        settings = self.settings.retrieval
        k = k or settings.top_k
        mode = mode or (Mode.HYBRID if settings.hybrid else Mode.VECTOR)
        found = self.candidates(query, settings.candidates, mode=mode, document_ids=document_ids)
        chunks = found.chunks
        # An identifier (a code, a version, a snake_case name) that only a passage or two hold names
        # something the keyword side matches exactly and vectors only approximately: then both
        # ranks count alike. Plain words that happen to be rare ("tidy") do not count.
        selective = found.rarest is not None and found.rarest <= settings.selective_term_passages
        keyword_weight = settings.selective_keyword_weight if selective else settings.keyword_weight
        lists = dict(found.lists)
        if "vector" in lists:
            lists["vector"] = ranking.above_floor(lists["vector"], settings.vector_floor)
        fused = ranking.rrf(lists, {"vector": 1.0, "keyword": keyword_weight})
        documents = ranking.rank_documents(
            fused, {item: chunks[item].document_id for item, _, _ in fused}, damping=settings.passage_damping
        )
        if settings.collapse_duplicates:
            texts = {item: chunks[item].text for item, _, _ in fused}
            originals = self.workspace.registry.originals(d.document for d in documents)
            groups = ranking.collapse_duplicates(documents, texts, limit=k, originals=originals)
        else:
            groups = [[document] for document in documents]
        path_of = {d.document: chunks[d.passages[0][0]].path for d in documents}
        found_by = {item: retrievers for item, _, retrievers in fused}
        similarity = dict(lists.get("vector", []))
        return [
            _hit(chunks[pick.passage], pick.score, found_by[pick.passage], similarity.get(pick.passage),
                 tuple(path_of[copy] for copy in pick.copies))
            for pick in ranking.pick_passages(groups, k, settings.max_per_document)
        ]

    def candidates(
        self, query: str, limit: int, *, mode: Mode, document_ids: Sequence[int] | None = None
    ) -> Candidates:
        """Each retriever's (chunk id, score) pairs, best first, and the chunks they name."""
        lists: dict[str, list[tuple[int, float]]] = {}
        keyword: Future[tuple[list[tuple[int, float]], int | None]] | None = None
        if mode in (Mode.HYBRID, Mode.KEYWORD):
            # SQLite and torch both release the GIL: the keyword search runs while the query is embedded.
            keyword = _keyword_pool().submit(self._keyword, query, limit, document_ids)
        if mode in (Mode.HYBRID, Mode.VECTOR):
            lists["vector"] = self._vector(query, limit, document_ids)
        rarest = None
        if keyword is not None:
            lists["keyword"], rarest = keyword.result()
        chunks = self.workspace.registry.chunks({i for found in lists.values() for i, _ in found})
        # Vectors whose chunk row is gone are orphans of an interrupted delete: never shown.
        lists = {name: [(i, score) for i, score in found if i in chunks] for name, found in lists.items()}
        return Candidates(lists, chunks, rarest)

    def _keyword(
        self, query: str, limit: int, document_ids: Sequence[int] | None
    ) -> tuple[list[tuple[int, float]], int | None]:
        """The keyword hits, and how many passages hold the question's rarest identifier (None: none)."""
        terms = query_terms(query)
        if not terms:
            return [], None
        registry = self.workspace.registry
        passages_with, passages = registry.passages_with_terms(terms)
        required = required_terms(passages_with, passages)
        if not required:
            return [], None
        scored_only_with = fts_any(required) if set(required) != set(terms) else None
        hits = registry.keyword_search(fts_any(terms), limit, document_ids, required=scored_only_with)
        identifiers = [term for term in required if is_identifier(term)]
        return hits, min((passages_with[term] for term in identifiers), default=None)

    def _vector(self, query: str, limit: int, document_ids: Sequence[int] | None) -> list[tuple[int, float]]:
        embedding = self.workspace.embedder.embed([query])[0]
        return self.workspace.vectors.query(embedding, limit, document_ids)


def _hit(
    chunk: StoredChunk, score: float, found_by: tuple[str, ...], similarity: float | None, also_in: tuple[str, ...]
) -> SearchHit:
    return SearchHit(
        chunk_id=chunk.id, document_id=chunk.document_id, path=chunk.path, page=chunk.page, heading=chunk.heading,
        score=score, text=chunk.text, start=chunk.start, end=chunk.end, retrievers=found_by, similarity=similarity,
        also_in=also_in, ocr_confidence=chunk.ocr_confidence,
    )
