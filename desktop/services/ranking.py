"""Ranking retrieved passages and the documents they come from: pure functions over scored ids.

Each retriever gives (passage id, score) pairs, best first. Reciprocal rank fusion turns them into
one passage ranking; documents are then ranked by all the evidence their passages carry, so that
one lucky passage does not outrank a document with several good ones. Kept free of I/O so that
``benchmarks/retrieval_lab.py`` replays them on the candidates the app would see.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Scored = Sequence[tuple[int, float]]
Fused = list[tuple[int, float, tuple[str, ...]]]  # (id, fused score, retrievers that found it)

RRF_K = 60  # the constant of Cormack et al.: ranks beyond a few dozen barely count


def rrf(lists: Mapping[str, Scored], weights: Mapping[str, float], k: int = RRF_K) -> Fused:
    """Reciprocal rank fusion: each list adds weight / (k + rank) to the ids it holds."""
    fused: dict[int, float] = defaultdict(float)
    members: dict[str, set[int]] = {}
    for name, scored in lists.items():
        members[name] = {item for item, _ in scored}
        for rank, (item, _) in enumerate(scored, start=1):
            fused[item] += weights.get(name, 1.0) / (k + rank)
    order = sorted(fused, key=lambda item: (-fused[item], item))
    return [(item, fused[item], tuple(name for name in lists if item in members[name])) for item in order]


def above_floor(scored: Scored, ratio: float) -> list[tuple[int, float]]:
    """The candidates scoring at least ``ratio`` times the best one. Ranks alone cannot tell a
    small library's unrelated passages (all of them are candidates there) from good ones."""
    if not scored or scored[0][1] <= 0:
        return list(scored[:1])
    return [(item, score) for item, score in scored if score >= ratio * scored[0][1]]


@dataclass(frozen=True)
class RankedDocument:
    document: int
    score: float
    passages: tuple[tuple[int, float], ...]  # (passage id, fused score), best first


def rank_documents(fused: Fused, document_of: Mapping[int, int], *, damping: float) -> list[RankedDocument]:
    """Documents scored by their best passage plus a geometrically damped sum of the others."""
    passages: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for item, score, _ in fused:
        passages[document_of[item]].append((item, score))
    scored = [
        RankedDocument(document, sum(score * damping**n for n, (_, score) in enumerate(found)), tuple(found))
        for document, found in passages.items()
    ]
    return sorted(scored, key=lambda d: (-d.score, d.passages[0][0]))


_WORD = re.compile(r"\w{2,}")
MIN_WORDS = 12  # shorter passages ("See git-config(1).") say too little to call two of them copies
DUPLICATE_CONTAINMENT = 0.8


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def near_duplicates(a: frozenset[str], b: frozenset[str]) -> bool:
    """Most words of the shorter passage are in the other: the same text, rendered twice (an HTML
    page and its source), or quoted. Containment, not Jaccard, so cut at other places still counts."""
    smaller = min(len(a), len(b))
    return smaller >= MIN_WORDS and len(a & b) >= DUPLICATE_CONTAINMENT * smaller


def collapse_duplicates(
    documents: Sequence[RankedDocument],
    texts: Mapping[int, str],
    limit: int | None = None,
    originals: Mapping[int, int] | None = None,
) -> list[list[RankedDocument]]:
    """Groups of documents, best first: a document joins the group of one ranked above it instead of
    taking a place of its own when its best passage copies any retrieved passage of that one, or
    when one of the two copies the other as a whole (``originals``: copy -> the document it copies).
    An HTML page and its source are cut at other places, so their best passages often differ, and
    two passages of one long text can both be retrieved without either copying the other.

    ``limit``: only the first groups are wanted; once there are that many, a later document can
    only join one of them, so it is compared with those alone (the cost of a search grew with the
    square of its candidates)."""
    originals = originals or {}
    groups: list[tuple[list[frozenset[str]], list[RankedDocument]]] = []
    for document in documents:
        words = _words(texts[document.passages[0][0]])
        for shown, members in groups:
            if any(_copies(document.document, member.document, originals) for member in members) or any(
                near_duplicates(words, passage) for passage in shown
            ):
                members.append(document)
                break
        else:
            if limit is None or len(groups) < limit:
                groups.append(([_words(texts[item]) for item, _ in document.passages], [document]))
    return [members for _, members in groups]


def _copies(a: int, b: int, originals: Mapping[int, int]) -> bool:
    return originals.get(a) == b or originals.get(b) == a


@dataclass(frozen=True)
class Pick:
    passage: int
    score: float  # its document's score: what the results are ordered by
    copies: tuple[int, ...] = ()  # other documents holding the same text


def pick_passages(groups: Sequence[Sequence[RankedDocument]], k: int, per_document: int) -> list[Pick]:
    """The best passage of each group's lead document, best group first. When fewer than ``k``
    groups were found, the top documents also give their next passages (``per_document`` at most
    each), right after their best one."""
    picks: list[Pick] = []
    spare = max(0, k - len(groups))
    for lead, *copies in groups[:k]:
        picks.append(Pick(lead.passages[0][0], lead.score, tuple(copy.document for copy in copies)))
        more = min(spare, per_document - 1, len(lead.passages) - 1)
        picks.extend(Pick(item, lead.score) for item, _ in lead.passages[1 : 1 + more])
        spare -= more
    return picks
