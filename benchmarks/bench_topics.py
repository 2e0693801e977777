"""The topic map of a large library, through the path the Insights worker takes (passages and
vectors read from the registry and Chroma, clustering, labels, layout, the clustering saved), and its
incremental update after 100 more documents are indexed.

    .venv/bin/python benchmarks/bench_topics.py [--passages 100000] [--quick]

Passages are synthetic but shaped like the real ones: 384-dimensional unit vectors (MiniLM's size)
drawn around 16 planted topic centres (cosine about 0.7 to their centre, as passages of one subject
are), texts of 100 words from each topic's own words mixed with common ones. Embedding 100k real
passages would take most of an hour here and does not change what clustering costs. Reports the
adjusted Rand index of the topics found against the planted ones.
Targets: the map of 100k passages < 60 s; the update after 100 documents < 5 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import PeakMemory, print_json, print_table
from desktop.core.offline import enforce_offline
from desktop.core.types import ChunkDraft
from desktop.services.home import Home
from desktop.services.indexing import LAST_RUN_KEY
from desktop.services.library_insights import topic_map_of
from desktop.services.library_vectors import load_library
from desktop.services.workspace import Workspace
from desktop.store.registry import chunk_id

TOPICS = 16
DIMENSIONS = 384
PASSAGES_PER_DOCUMENT = 10
WORDS_PER_PASSAGE = 100
ADDED_DOCUMENTS = 100
MAP_TARGET_S = 60.0
UPDATE_TARGET_S = 5.0


class Library:
    """Writes synthetic documents into a real workspace, remembering each passage's planted topic."""

    def __init__(self, workspace: Workspace, seed: int = 7) -> None:
        self.workspace = workspace
        self.rng = np.random.default_rng(seed)
        self.words = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        vocabulary = sorted({"".join(self.words.choice(letters) for _ in range(self.words.randint(4, 9)))
                             for _ in range(TOPICS * 200 + 2000)})
        self.words.shuffle(vocabulary)
        self.common = vocabulary[:2000]
        self.topic_words = [vocabulary[2000 + t * 200 : 2000 + (t + 1) * 200] for t in range(TOPICS)]
        centres = self.rng.standard_normal((TOPICS, DIMENSIONS))
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.truth: dict[int, int] = {}  # chunk id -> planted topic
        self.documents = 0

    def add(self, documents: int, *, indexed_at: float) -> None:
        registry = self.workspace.registry
        items: list[tuple[int, str | None, ChunkDraft]] = []
        ids: list[int] = []
        owners: list[int] = []
        vectors: list[np.ndarray] = []
        for _ in range(documents):
            topic = int(self.rng.integers(TOPICS))
            document_id = registry.start_document(
                path=f"/synthetic/topic-{topic:02}/doc-{self.documents:05}.txt", kind="text", size=1, mtime=0.0,
                content_hash=f"h{self.documents}",
            )
            self.documents += 1
            noise = self.rng.standard_normal((PASSAGES_PER_DOCUMENT, DIMENSIONS)) / np.sqrt(DIMENSIONS)
            block = 0.7 * self.centres[topic] + 0.7 * noise
            vectors.append(block / np.linalg.norm(block, axis=1, keepdims=True))
            for seq in range(PASSAGES_PER_DOCUMENT):
                own = self.words.choices(self.topic_words[topic], k=WORDS_PER_PASSAGE // 3)
                text = " ".join(own + self.words.choices(self.common, k=WORDS_PER_PASSAGE - len(own)))
                items.append((document_id, None, ChunkDraft(seq=seq, text=text, start=0, end=len(text))))
                ids.append(chunk_id(document_id, seq))
                owners.append(document_id)
                self.truth[ids[-1]] = topic
            if len(ids) >= 2000:
                self._flush(items, ids, owners, vectors)
        self._flush(items, ids, owners, vectors)
        registry.db.execute("UPDATE documents SET indexed_at = ? WHERE indexed_at IS NULL OR indexed_at = 0",
                            (indexed_at,))

    def _flush(self, items: list, ids: list[int], owners: list[int], vectors: list[np.ndarray]) -> None:
        if not ids:
            return
        self.workspace.vectors.upsert(ids, np.vstack(vectors).astype(np.float32), owners)
        self.workspace.registry.add_chunks(items)
        for document_id in sorted(set(owners)):
            self.workspace.registry.mark_indexed(document_id)
        for pending in (items, ids, owners, vectors):
            pending.clear()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20,000 passages")
    args = parser.parse_args()
    passages = 20_000 if args.quick else args.passages
    enforce_offline()
    from sklearn.metrics import adjusted_rand_score

    with tempfile.TemporaryDirectory() as scratch:
        home = Home(Path(scratch) / "home")
        workspace = home.workspace(writes=True)
        library = Library(workspace)
        started = time.perf_counter()
        library.add(passages // PASSAGES_PER_DOCUMENT, indexed_at=time.time() - 86400)
        build_s = time.perf_counter() - started
        print(f"built {passages:,} passages in {build_s:.0f} s", file=sys.stderr)

        with PeakMemory() as memory:
            began = time.perf_counter()
            read = load_library(workspace)
            vectors = read.all_vectors()
            read_s = time.perf_counter() - began
            del vectors  # read again inside, as the worker does: this only says how much of the time is reading
            began = time.perf_counter()
            full, clustering = topic_map_of(workspace, load_library(workspace), home.insights_dir, rebuild=True)
            map_s = time.perf_counter() - began
        assert clustering is not None, full.unavailable
        truth = [library.truth[int(i)] for i in clustering.chunk_ids]
        ari = adjusted_rand_score(truth, clustering.labels)

        run_started = time.time()
        library.add(ADDED_DOCUMENTS, indexed_at=run_started)
        workspace.registry.set_meta(LAST_RUN_KEY, {"started": run_started, "chunks": ADDED_DOCUMENTS * 10})
        began = time.perf_counter()
        updated, _ = topic_map_of(workspace, load_library(workspace), home.insights_dir)  # as the worker does
        update_s = time.perf_counter() - began
        workspace.close()

    rows = [
        ("library", f"{passages:,} passages in {passages // PASSAGES_PER_DOCUMENT:,} documents, {TOPICS} planted "
                    f"topics (built in {build_s:.0f} s)"),
        ("topic map, reading included", f"{map_s:.1f} s (target < {MAP_TARGET_S:.0f} s), peak RSS "
                                        f"{memory.peak / 2**20:,.0f} MB; {len(full.topics)} topics, "
                                        f"{len(full.candidates)} counts tried; ARI {ari:.3f}"),
        ("  of which reading the vectors", f"{read_s:.1f} s (measured apart)"),
        (f"update after {ADDED_DOCUMENTS} documents", f"{update_s:.2f} s (target < {UPDATE_TARGET_S:.0f} s), "
                                                       f"{updated.passages:,} passages, reading included"),
    ]
    print_table("Topic map", rows)
    print_json({
        "bench": "topics", "passages": passages, "planted_topics": TOPICS, "topics": len(full.topics),
        "adjusted_rand": round(ari, 3), "read_s": round(read_s, 2),
        "map_s": round(map_s, 2), "update_s": round(update_s, 2), "peak_rss_mb": round(memory.peak / 2**20),
        "map_ok": map_s < MAP_TARGET_S, "update_ok": update_s < UPDATE_TARGET_S,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
