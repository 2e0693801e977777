"""The topic map recovers planted topics and the drift test detects a planted shift, on passages
embedded by the real embedder; a random split of one corpus is not flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.services.drift import classifier_drift
from desktop.services.topics import build_topic_map
from tests.planted import SUBJECTS, passages


def embedded(embedder: Any, subjects: list[str], count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    texts: list[str] = []
    truth: list[int] = []
    for i, subject in enumerate(subjects):
        written = passages(subject, count, seed=seed)
        texts += written
        truth += [i] * len(written)
    return np.asarray(embedder.embed(texts), dtype=np.float32), np.array(truth), texts


def test_topic_map_recovers_planted_topics(embedder: Any) -> None:
    from sklearn.metrics import adjusted_rand_score

    vectors, truth, texts = embedded(embedder, list(SUBJECTS), 60)
    ids = np.arange(len(texts), dtype=np.int64)
    topic_map, clustering = build_topic_map(
        ids, ids // 10, vectors, lambda chosen: [texts[int(i)] for i in chosen], {}, seed=0
    )
    assert clustering is not None and topic_map.unavailable is None
    ari = adjusted_rand_score(truth, clustering.labels)
    print(f"adjusted Rand index {ari:.3f} with {len(topic_map.topics)} topics")
    assert len(topic_map.topics) == len(SUBJECTS)
    assert ari > 0.9
    vocabularies = [" ".join(subjects + predicates).lower() for subjects, predicates in SUBJECTS.values()]
    for topic in topic_map.topics:  # its distinctive words come from the subject it holds
        planted = np.bincount(truth[clustering.labels == topic.id]).argmax()
        assert len(topic.terms) >= 3 and all(term in vocabularies[planted] for term in topic.terms)
    assert max(topic_map.candidates, key=lambda c: c.silhouette).k == len(SUBJECTS)


def test_too_few_or_identical_passages_make_no_map(embedder: Any) -> None:
    one = np.asarray(embedder.embed(["A single note about the boiler."]), dtype=np.float32)
    ids = np.arange(1, dtype=np.int64)
    few, _ = build_topic_map(ids, ids, one, lambda chosen: ["x"], {})
    assert few.unavailable and "at least" in few.unavailable and few.topics == []
    same = np.repeat(one, 50, axis=0)
    ids = np.arange(50, dtype=np.int64)
    alike, clustering = build_topic_map(ids, ids, same, lambda chosen: ["same"] * len(chosen), {})
    assert clustering is None and alike.unavailable and "alike" in alike.unavailable


def test_planted_shift_is_detected_and_a_random_split_is_not(embedder: Any) -> None:
    existing, _, _ = embedded(embedder, ["baking", "astronomy"], 80)
    new, _, _ = embedded(embedder, ["tax"], 80, seed=1)
    shifted = classifier_drift(new, existing, seed=0)
    assert shifted.drifted is True and shifted.p_value is not None and shifted.p_value < 0.01  # a bool JSON can carry
    assert shifted.auc is not None and shifted.auc > 0.9

    order = np.random.default_rng(3).permutation(len(existing))
    split = classifier_drift(existing[order[:80]], existing[order[80:]], seed=0)
    assert split.drifted is False and split.p_value is not None and split.p_value > 0.05
    assert classifier_drift(new[:5], existing).unavailable


@pytest.mark.slow
def test_hearth_topics_and_insights_json(tmp_path: Path, in_process: None, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop import cli

    folder = tmp_path / "notes"
    folder.mkdir()
    for subject in ("baking", "cycling"):
        for n, text in enumerate(passages(subject, 30, seed=0)):
            (folder / f"{subject}-{n}.txt").write_text(text, encoding="utf-8")
    assert cli.main(["index", str(folder), "--json"]) == 0
    capsys.readouterr()
    assert cli.main(["topics", "--json", "--drift"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["topics"]) == 2 and document["passages"] == 60
    assert "points" not in document and document["drift"]["test"]["unavailable"]  # everything is new
    assert cli.main(["insights", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unavailable"].startswith("No answers yet")


def test_an_update_after_indexing_reads_only_the_new_and_the_drawn_vectors(
    workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from desktop.services import topics
    from desktop.services.indexing import Indexer
    from desktop.services.library_insights import topic_map_of
    from desktop.services.library_vectors import load_library

    folder = tmp_path / "notes"
    folder.mkdir()
    for subject in ("baking", "cycling"):
        for n, text in enumerate(passages(subject, 40, seed=0)):
            (folder / f"{subject}-{n}.txt").write_text(text, encoding="utf-8")
    Indexer(workspace).index([folder])
    library = load_library(workspace)
    ids, stored = workspace.vectors.all_vectors()
    row = {chunk: n for n, chunk in enumerate(ids)}
    rows = np.array([7, 3, 50, 3])
    assert np.array_equal(library.vectors_of(rows), stored[[row[int(i)] for i in library.chunk_ids[rows]]])
    first, _ = topic_map_of(workspace, library, tmp_path / "insights")
    assert len(first.topics) == 2
    before = set(library.chunk_ids.tolist())

    (folder / "baking-new.txt").write_text(passages("baking", 1, seed=9)[0], encoding="utf-8")
    Indexer(workspace).index([folder])
    read: list[int] = []

    def counted(chunk_ids: Any) -> tuple[list[int], np.ndarray]:
        read.extend(chunk_ids)
        return workspace.vectors.vectors_by_id(chunk_ids)

    library = replace(load_library(workspace), read=counted)
    monkeypatch.setattr(topics, "MAP_POINTS", 20)  # fewer drawn than there are passages, as in a large library
    updated, clustering = topic_map_of(workspace, library, tmp_path / "insights")
    assert clustering is not None and updated.passages == 81 and len(updated.topics) == 2
    new = set(library.chunk_ids.tolist()) - before
    assert len(new) == 1 and read[0] in new  # the new passage first, to join its topic
    assert len(read) == 1 + 20  # then those drawn on the map, and nothing else
