"""A map of the library: passages clustered into topics, each labelled by its most distinctive
words, laid out in two dimensions.

Why MiniBatchKMeans: the passage vectors are unit length, so k-means on them is close to clustering
by cosine similarity; mini-batches keep it linear in the passages (100,000 in seconds on 2 cores)
and every passage gets a topic. HDBSCAN would leave many passages as noise in 384 dimensions and is
much slower at this size. The count of topics is the one with the best silhouette (measured on a
sample) among 2..MAX_TOPICS. Labels are class-based TF-IDF: a word scores high for a topic when it is
frequent there and rare in the other topics. Layout: the topics' centres by classical
multidimensional scaling (their distances kept as well as two dimensions allow), each passage
placed around its centre along the library's two main directions of spread within topics.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from desktop.core.types import Frozen

MIN_PASSAGES = 20  # fewer make no map worth drawing
MAX_TOPICS = 24
FIT_SAMPLE = 20_000  # passages the clusters are fitted on; the rest are assigned to the nearest centre
COMPONENTS = 64  # principal components the counts of topics are tried on
SILHOUETTE_SAMPLE = 3_000
LABEL_SAMPLE = 20_000  # passages whose words label the topics
LABEL_TERMS = 5
MAP_POINTS = 2_000  # passages drawn on the map
TOPIC_DOCUMENTS = 8  # documents named when hovering a topic
METHOD = (
    "MiniBatchKMeans on unit-length passage vectors (cosine-like); the count with the best silhouette "
    f"among 2..{MAX_TOPICS}; labels by class-based TF-IDF; layout by classical MDS of the topic centres"
)


class Topic(Frozen):
    id: int
    label: str  # its most distinctive words, joined
    terms: list[str]
    passages: int
    document_ids: list[int]  # documents whose passages are mostly in this topic: the chat's scope
    documents: list[str]  # their paths, largest first (at most TOPIC_DOCUMENTS)
    x: float
    y: float


class MapPoint(Frozen):
    x: float
    y: float
    topic: int


class KChoice(Frozen):
    k: int
    silhouette: float


class TopicMap(Frozen):
    passages: int
    topics: list[Topic]
    points: list[MapPoint]
    candidates: list[KChoice]  # the silhouette of each count tried: why this many topics
    method: str = METHOD
    built_at: float = 0.0
    seconds: float = 0.0
    unavailable: str | None = None


VectorsOf = Callable[[np.ndarray], np.ndarray]  # the vectors of the passages at these rows


@dataclass(frozen=True)
class Clustering:
    """What an incremental update needs: the centres, each passage's topic, the topics' words."""

    centres: np.ndarray  # k × dimensions
    chunk_ids: np.ndarray  # ascending
    labels: np.ndarray
    candidates: list[KChoice]
    terms: list[list[str]]


def choose_clusters(vectors: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, list[KChoice]]:
    """Cluster centres for ``vectors``, their count chosen by silhouette.

    The counts are tried on the sample's first ``COMPONENTS`` principal components: each k-means
    step then costs a sixth, and topics differ along the main directions anyway. The centres
    returned are the means of each topic's passages in the full space, where passages are assigned."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    # float64: scikit-learn computes float32 distances in upcast chunks, several times slower.
    sample = vectors[rng.choice(len(vectors), min(len(vectors), FIT_SAMPLE), replace=False)].astype(np.float64)
    scored_rows = rng.choice(len(sample), min(len(sample), SILHOUETTE_SAMPLE), replace=False)
    distinct = len(np.unique(sample[scored_rows].round(4), axis=0))
    counts = range(2, min(MAX_TOPICS, distinct - 1, len(scored_rows) // 5) + 1)
    if not counts:
        return vectors[:1].copy(), []  # one topic: everything is alike
    fit = PCA(min(COMPONENTS, *sample.shape), svd_solver="randomized", random_state=seed).fit_transform(sample)
    scored = fit[scored_rows]
    candidates: list[KChoice] = []
    best: tuple[float, np.ndarray] | None = None
    # One thread: each mini-batch step is small, and OpenMP threads waiting for a busy second core
    # made the whole search 7 times slower (67 s against 9 s for 20k passages at load 8 on 2 cores).
    # The other core stays free for the window and answers.
    with threadpool_limits(1):
        for k in counts:
            # compute_labels=False: the labels of the whole sample are not needed, only the centres.
            model = MiniBatchKMeans(k, n_init=3, batch_size=2048, compute_labels=False, random_state=seed).fit(fit)
            labels = model.predict(scored)
            if len(set(labels.tolist())) < 2:
                continue
            score = float(silhouette_score(scored, labels))
            candidates.append(KChoice(k=k, silhouette=score))
            if best is None or score > best[0]:
                best = (score, model.predict(fit))
    if best is None:
        return vectors[:1].copy(), candidates
    labels = best[1]
    return np.vstack([sample[labels == topic].mean(axis=0) for topic in np.unique(labels)]), candidates


def assign(vectors: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The nearest centre of each vector, a block at a time (100k × k stays small)."""
    labels = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), 20_000):
        block = vectors[start : start + 20_000]
        distances = (block**2).sum(1)[:, None] - 2 * block @ centres.T + (centres**2).sum(1)[None, :]
        labels[start : start + 20_000] = distances.argmin(1)
    return labels


def topic_terms(texts: Sequence[str], labels: np.ndarray, k: int) -> list[list[str]]:
    """Each topic's most distinctive words by class-based TF-IDF."""
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        counts = CountVectorizer(
            stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{3,}\b", max_features=30_000, lowercase=True
        ).fit(texts)
    except ValueError:  # no words at all (numbers, punctuation, or stop words only)
        return [[] for _ in range(k)]
    matrix = counts.transform(texts)
    vocabulary = counts.get_feature_names_out()
    per_class = np.zeros((k, matrix.shape[1]))
    for topic in range(k):
        rows = np.flatnonzero(labels == topic)
        if len(rows):
            per_class[topic] = np.asarray(matrix[rows].sum(axis=0)).ravel()
    words = per_class.sum(axis=1, keepdims=True)
    frequency = per_class / np.maximum(words, 1)
    average_words = words.mean()
    scores = frequency * np.log(1 + average_words / np.maximum(per_class.sum(axis=0), 1))
    return [
        [str(vocabulary[i]) for i in np.argsort(-row)[:LABEL_TERMS] if row[i] > 0] for row in scores
    ]


def layout(vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray, *, seed: int = 0) -> tuple[
    np.ndarray, np.ndarray
]:
    """2-D positions of the centres (classical MDS) and of the passages around them."""
    k = len(centres)
    if k == 1:
        centre_xy = np.zeros((1, 2))
    else:
        squared = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        centring = np.eye(k) - np.ones((k, k)) / k
        gram = -0.5 * centring @ squared @ centring
        values, vectors_ = np.linalg.eigh(gram)
        top = np.argsort(values)[::-1][:2]
        centre_xy = vectors_[:, top] * np.sqrt(np.maximum(values[top], 0))
        if centre_xy.shape[1] < 2:
            centre_xy = np.hstack([centre_xy, np.zeros((k, 2 - centre_xy.shape[1]))])
    residuals = vectors - centres[labels]
    rng = np.random.default_rng(seed)
    sample = residuals[rng.choice(len(residuals), min(len(residuals), 5000), replace=False)]
    _, _, directions = np.linalg.svd(sample - sample.mean(0), full_matrices=False)
    spread = residuals @ directions[:2].T
    gaps = np.sqrt(((centre_xy[:, None] - centre_xy[None]) ** 2).sum(-1)) + np.eye(k) * 1e9
    unit = float(np.median(gaps.min(1))) if k > 1 else 1.0
    scale = 0.3 * unit / max(float(np.percentile(np.abs(spread), 90)), 1e-9)
    return centre_xy, centre_xy[labels] + spread * scale


def build_topic_map(
    chunk_ids: np.ndarray,
    document_ids: np.ndarray,
    vectors: np.ndarray,
    texts_of: Callable[[np.ndarray], list[str]],
    paths: dict[int, str],
    *,
    seed: int = 0,
) -> tuple[TopicMap, Clustering | None]:
    """The map of these passages; ``texts_of`` reads the texts of the passages sampled for labels."""
    began = time.perf_counter()
    if len(vectors) < MIN_PASSAGES:
        return TopicMap(
            passages=len(vectors), topics=[], points=[], candidates=[],
            unavailable=f"The library has {len(vectors)} passages; a map needs at least {MIN_PASSAGES}.",
        ), None
    centres, candidates = choose_clusters(vectors, seed=seed)
    if len(centres) == 1 and not candidates:
        return TopicMap(
            passages=len(vectors), topics=[], points=[], candidates=[],
            unavailable="The passages are all alike: there are no topics to tell apart.",
        ), None
    labels = assign(vectors, centres)
    rng = np.random.default_rng(seed)
    sampled = np.sort(rng.choice(len(vectors), min(len(vectors), LABEL_SAMPLE), replace=False))
    terms = topic_terms(texts_of(chunk_ids[sampled]), labels[sampled], len(centres))
    clustering = Clustering(centres=centres, chunk_ids=chunk_ids, labels=labels, candidates=candidates, terms=terms)
    return describe(clustering, document_ids, lambda rows: vectors[rows], paths, seed=seed, began=began), clustering


def describe(
    clustering: Clustering,
    document_ids: np.ndarray,
    vectors_of: VectorsOf,
    paths: dict[int, str],
    *,
    seed: int = 0,
    began: float,
) -> TopicMap:
    """The map's topics, documents and points from a clustering (fresh or updated); only the passages
    drawn are read."""
    labels, centres = clustering.labels, clustering.centres
    rng = np.random.default_rng(seed)
    shown = np.sort(rng.choice(len(labels), min(len(labels), MAP_POINTS), replace=False))
    centre_xy, passage_xy = layout(vectors_of(shown), labels[shown], centres, seed=seed)
    majority: dict[int, Counter[int]] = {}
    for document, topic in zip(document_ids.tolist(), labels.tolist(), strict=True):
        majority.setdefault(document, Counter())[topic] += 1
    owned: dict[int, list[tuple[int, int]]] = {}
    for document, counts in majority.items():
        topic, count = counts.most_common(1)[0]
        owned.setdefault(topic, []).append((count, document))
    sizes = np.bincount(labels, minlength=len(centres))
    topics = []
    for topic in range(len(centres)):
        documents = [d for _, d in sorted(owned.get(topic, []), reverse=True)]
        words = clustering.terms[topic] if topic < len(clustering.terms) else []
        topics.append(Topic(
            id=topic, label=" · ".join(words[:3]) or f"topic {topic + 1}", terms=words, passages=int(sizes[topic]),
            document_ids=documents, documents=[paths.get(d, "") for d in documents[:TOPIC_DOCUMENTS]],
            x=float(centre_xy[topic, 0]), y=float(centre_xy[topic, 1]),
        ))
    points = [
        MapPoint(x=float(passage_xy[j, 0]), y=float(passage_xy[j, 1]), topic=int(labels[i]))
        for j, i in enumerate(shown.tolist())
    ]
    return TopicMap(
        passages=len(labels), topics=[t for t in topics if t.passages], points=points,
        candidates=clustering.candidates, built_at=time.time(), seconds=time.perf_counter() - began,
    )


def update_clustering(
    previous: Clustering, chunk_ids: np.ndarray, vectors_of: VectorsOf, *, limit: float = 0.2
) -> Clustering | None:
    """Passages added since ``previous`` joined to their nearest topic, removed ones dropped; None when
    more than ``limit`` of the library changed, so the topics themselves should be found again."""
    known = np.isin(chunk_ids, previous.chunk_ids)
    kept = np.isin(previous.chunk_ids, chunk_ids)
    changed = int((~known).sum()) + int((~kept).sum())
    if changed > limit * max(len(chunk_ids), 1):
        return None
    labels = np.empty(len(chunk_ids), dtype=np.int64)
    order = np.argsort(previous.chunk_ids)
    positions = np.searchsorted(previous.chunk_ids[order], chunk_ids[known])
    labels[known] = previous.labels[order][positions]
    if (~known).any():
        labels[~known] = assign(vectors_of(np.flatnonzero(~known)), previous.centres)
    return replace(previous, chunk_ids=chunk_ids, labels=labels)
