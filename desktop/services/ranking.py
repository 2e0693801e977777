"""Ranking retrieved passages and the documents they come from: pure functions over scored ids.

Each retriever gives (chunk id, score) pairs, best first. Fusion turns them into one passage
ranking; aggregation then ranks documents by all the evidence their passages carry, so that one
lucky passage does not outrank a document with several good ones. Kept free of I/O so that
``benchmarks/retrieval_lab.py`` compares the methods on the same candidates the app would see.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum

Scored = Sequence[tuple[int, float]]
Fused = list[tuple[int, float, tuple[str, ...]]]  # (id, fused score, retrievers that found it)

RRF_K = 60  # the constant of Cormack et al.; ranks beyond a few dozen barely count


class Fusion(StrEnum):
    RRF = "rrf"  # reciprocal rank fusion: ranks only
    MINMAX = "minmax"  # weighted sum of min-max normalised scores
    ZSCORE = "zscore"  # weighted sum of z-scores


class Aggregation(StrEnum):
    BEST = "best"  # a document scores its best passage
    DAMPED = "damped"  # best passage plus a geometrically damped sum of the others
    RRF_SUM = "rrf-sum"  # sum over its passages of 1 / (RRF_K + rank in the fused list)


def _ordered(fused: dict[int, float], lists: Mapping[str, Scored]) -> Fused:
    members = {name: {i for i, _ in scored} for name, scored in lists.items()}
    order = sorted(fused, key=lambda item: (-fused[item], item))
    return [(item, fused[item], tuple(name for name in lists if item in members[name])) for item in order]


def rrf(lists: Mapping[str, Scored], weights: Mapping[str, float], k: int = RRF_K) -> Fused:
    fused: dict[int, float] = defaultdict(float)
    for name, scored in lists.items():
        for rank, (item, _) in enumerate(scored, start=1):
            fused[item] += weights.get(name, 1.0) / (k + rank)
    return _ordered(fused, lists)


def _minmax(scored: Scored) -> dict[int, float]:
    if not scored:
        return {}
    high = max(score for _, score in scored)
    low = min(score for _, score in scored)
    return {item: (score - low) / (high - low) if high > low else 1.0 for item, score in scored}


def _zscores(scored: Scored) -> dict[int, float]:
    if not scored:
        return {}
    values = [score for _, score in scored]
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return {item: (score - mean) / spread for item, score in scored}


def convex(
    lists: Mapping[str, Scored], weights: Mapping[str, float], normalise: Callable[[Scored], dict[int, float]]
) -> Fused:
    """A weighted sum of normalised scores; an id a retriever did not return gets that retriever's
    lowest normalised score (it was at best as good as its last candidate)."""
    normalised = {name: normalise(scored) for name, scored in lists.items()}
    floors = {name: min(values.values(), default=0.0) for name, values in normalised.items()}
    items = {item for values in normalised.values() for item in values}
    fused = {
        item: sum(weights.get(name, 1.0) * values.get(item, floors[name]) for name, values in normalised.items())
        for item in items
    }
    return _ordered(fused, lists)


def fuse(lists: Mapping[str, Scored], weights: Mapping[str, float], method: Fusion) -> Fused:
    lists = {name: scored for name, scored in lists.items() if scored}
    if method == Fusion.RRF:
        return rrf(lists, weights)
    return convex(lists, weights, _minmax if method == Fusion.MINMAX else _zscores)


def rank_documents(
    fused: Fused, document_of: Mapping[int, int], method: Aggregation, *, damping: float = 0.5
) -> list[tuple[int, float, list[int]]]:
    """(document id, score, its passage ids best first), best document first."""
    passages: dict[int, list[int]] = defaultdict(list)
    contributions: dict[int, list[float]] = defaultdict(list)
    for rank, (item, score, _) in enumerate(fused, start=1):
        document = document_of[item]
        passages[document].append(item)
        contributions[document].append(1 / (RRF_K + rank) if method == Aggregation.RRF_SUM else score)
    scores: dict[int, float] = {}
    for document, values in contributions.items():
        if method == Aggregation.BEST:
            scores[document] = values[0]
        elif method == Aggregation.DAMPED:
            scores[document] = sum(value * damping**position for position, value in enumerate(values))
        else:
            scores[document] = sum(values)
    order = sorted(scores, key=lambda document: (-scores[document], passages[document][0]))
    return [(document, scores[document], passages[document]) for document in order]


_WORD = re.compile(r"\w{2,}")
MIN_WORDS = 12  # shorter passages ("See git-config(1).") say too little to call two of them copies
DUPLICATE_CONTAINMENT = 0.8


def _words(text: str) -> frozenset[str]:
    return frozenset(word.lower() for word in _WORD.findall(text))


def near_duplicates(a: frozenset[str], b: frozenset[str]) -> bool:
    """Most words of the shorter passage are in the other: the same text, rendered twice (an HTML
    page and its source), or quoted. Containment, not Jaccard, so cut at other places still counts."""
    smaller = min(len(a), len(b))
    return smaller >= MIN_WORDS and len(a & b) >= DUPLICATE_CONTAINMENT * smaller


def collapse_duplicates(ranked: Sequence[tuple[int, int]], texts: Mapping[int, str]) -> list[list[int]]:
    """Groups of documents, best first: a document whose best passage copies that of a document
    ranked above it joins that one's group instead of taking a place of its own."""
    groups: list[tuple[frozenset[str], list[int]]] = []
    for document, passage in ranked:
        words = _words(texts[passage])
        for shown, members in groups:
            if near_duplicates(words, shown):
                members.append(document)
                break
        else:
            groups.append((words, [document]))
    return [members for _, members in groups]
