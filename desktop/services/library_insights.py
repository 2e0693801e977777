"""The library side of the insights: the topic map (kept in the data folder and updated
incrementally after indexing), drift of the last indexing run, the topics it grew, and the
documents indexed twice."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from desktop.core.private import write_private_bytes
from desktop.core.types import Frozen
from desktop.services.drift import PER_SIDE, DriftTest, classifier_drift
from desktop.services.duplicates import Duplicates, find_duplicates
from desktop.services.indexing import LAST_RUN_KEY
from desktop.services.library_vectors import LibraryVectors, load_library, passage_texts
from desktop.services.topics import (
    Clustering,
    KChoice,
    TopicMap,
    build_topic_map,
    describe,
    update_clustering,
)
from desktop.services.workspace import Workspace

CLUSTERING_FILE = "topics.npz"
GROWTH = 0.05  # a topic grew when its share of the new passages exceeds its earlier share by this much


class TopicGrowth(Frozen):
    topic: int
    label: str
    new_share: float
    existing_share: float
    appeared: bool  # none of the earlier passages were in it


class LibraryDrift(Frozen):
    test: DriftTest
    run_started: float | None = None
    grew: tuple[TopicGrowth, ...] = ()


class LibraryInsights(Frozen):
    map: TopicMap
    drift: LibraryDrift
    duplicates: Duplicates


def library_insights(workspace: Workspace, folder: Path, *, seed: int = 0) -> LibraryInsights:
    library = load_library(workspace)
    topic_map, clustering = topic_map_of(workspace, library, folder, seed=seed)
    return LibraryInsights(
        map=topic_map, drift=library_drift(workspace, library, topic_map, clustering, seed=seed),
        duplicates=find_duplicates(workspace),
    )


def topic_map_of(
    workspace: Workspace, library: LibraryVectors, folder: Path, *, seed: int = 0, rebuild: bool = False
) -> tuple[TopicMap, Clustering | None]:
    """The map, from the stored clustering when few passages changed since it was made."""
    began = time.perf_counter()
    paths = {d.id: d.path for d in workspace.registry.documents()}
    previous = None if rebuild else load_clustering(folder / CLUSTERING_FILE)
    if previous is not None and len(library) and previous.centres.shape[1] == library.dimension:
        updated = update_clustering(previous, library.chunk_ids, library.vectors_of)
        if updated is not None:
            save_clustering(folder / CLUSTERING_FILE, updated)
            return describe(updated, library.document_ids, library.vectors_of, paths, seed=seed, began=began), updated
    topic_map, clustering = build_topic_map(
        library.chunk_ids, library.document_ids, library.all_vectors(),
        lambda ids: passage_texts(workspace, ids), paths, seed=seed,
    )
    if clustering is not None:
        save_clustering(folder / CLUSTERING_FILE, clustering)
    return topic_map, clustering


def library_drift(
    workspace: Workspace, library: LibraryVectors, topic_map: TopicMap, clustering: Clustering | None, *, seed: int = 0
) -> LibraryDrift:
    """The last indexing run's passages against the ones before it."""
    run = workspace.registry.get_meta(LAST_RUN_KEY)
    if not run or not len(library):
        unavailable = "No indexing run has added passages yet."
        return LibraryDrift(test=DriftTest(new=0, existing=len(library), unavailable=unavailable))
    new = library.indexed_at >= float(run["started"])
    test = classifier_drift(*(_sample(library, np.flatnonzero(side), seed) for side in (new, ~new)), seed=seed)
    test = test.model_copy(update={"new": int(new.sum()), "existing": int((~new).sum())})
    grew: tuple[TopicGrowth, ...] = ()
    if test.unavailable is None and clustering is not None and len(clustering.labels) == len(library):
        k = len(clustering.centres)
        new_share = np.bincount(clustering.labels[new], minlength=k) / max(int(new.sum()), 1)
        old_counts = np.bincount(clustering.labels[~new], minlength=k)
        old_share = old_counts / max(int((~new).sum()), 1)
        labels = {t.id: t.label for t in topic_map.topics}
        grew = tuple(
            TopicGrowth(topic=t, label=labels.get(t, f"topic {t + 1}"), new_share=float(new_share[t]),
                        existing_share=float(old_share[t]), appeared=bool(old_counts[t] == 0))
            for t in np.argsort(-(new_share - old_share)).tolist() if new_share[t] - old_share[t] > GROWTH
        )
    return LibraryDrift(test=test, run_started=float(run["started"]), grew=grew)


def _sample(library: LibraryVectors, rows: np.ndarray, seed: int) -> np.ndarray:
    """The vectors of at most PER_SIDE of ``rows``: all the drift test looks at."""
    chosen = np.random.default_rng(seed).choice(rows, min(len(rows), PER_SIDE), replace=False)
    return library.vectors_of(np.sort(chosen))


def save_clustering(path: Path, clustering: Clustering) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(
        buffer, centres=clustering.centres, chunk_ids=clustering.chunk_ids, labels=clustering.labels,
        meta=np.array(json.dumps({
            "candidates": [c.model_dump() for c in clustering.candidates], "terms": clustering.terms,
        })),
    )
    write_private_bytes(path, buffer.getvalue())


def load_clustering(path: Path) -> Clustering | None:
    """None when there is none yet, or it cannot be read (it is then made again)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            return Clustering(
                centres=stored["centres"], chunk_ids=stored["chunk_ids"], labels=stored["labels"],
                candidates=[KChoice.model_validate(c) for c in meta["candidates"]], terms=meta["terms"],
            )
    except (OSError, ValueError, KeyError, TypeError):
        return None
