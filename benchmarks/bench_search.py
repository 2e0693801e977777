"""Hybrid search latency over a large synthetic index, query embedding included.

    .venv/bin/python benchmarks/bench_search.py [--chunks 100000] [--queries 200] [--keyword-only] [--hosted]

Chunk vectors are random unit vectors (embedding 100k passages would take most of an hour
here and does not change search cost); texts are Zipf-distributed words, so FTS5 posting
lists look like real text. Queries are embedded for real. Target: p95 < 50 ms. With
``--keyword-only`` no vector is written and only keyword search is timed: a 1M-passage registry
builds in minutes, where Chroma's index takes most of an hour.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import print_json, print_table
from desktop.core.offline import enforce_offline
from desktop.core.types import ChunkDraft
from desktop.services.home import Home
from desktop.services.retrieval import Mode, Retriever
from desktop.services.workspace import Workspace
from desktop.store.registry import chunk_id

VOCABULARY = 20_000
CHUNKS_PER_DOCUMENT = 50
WORDS_PER_CHUNK = 120


def _vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


BATCH_DOCUMENTS = 40  # 2,000 passages per write: per-document writes made a 1M-passage build take hours


def synthetic_vectors(document: int) -> np.ndarray:
    """The passage vectors of synthetic document number ``document``: random, unit length, reproducible."""
    vectors = np.random.default_rng(document).standard_normal((CHUNKS_PER_DOCUMENT, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(workspace: Workspace, chunks: int, rng: random.Random, words: list[str], *, vectors: bool = True) -> None:
    # Zipf: a few words are very common. Cumulative weights once, not per call.
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    documents = chunks // CHUNKS_PER_DOCUMENT
    for first in range(0, documents, BATCH_DOCUMENTS):
        if first % (BATCH_DOCUMENTS * 25) == 0:
            print(f"building: {first * CHUNKS_PER_DOCUMENT} chunks", file=sys.stderr, flush=True)
        batch = range(first, min(first + BATCH_DOCUMENTS, documents))
        items = []
        document_ids = [
            workspace.registry.start_document(
                path=f"/synthetic/doc-{d:06}.txt", kind="text", size=1, mtime=0.0, content_hash=f"h{d}"
            )
            for d in batch
        ]
        for document_id in document_ids:
            for seq in range(CHUNKS_PER_DOCUMENT):
                text = " ".join(rng.choices(words, cum_weights=cumulative, k=WORDS_PER_CHUNK))
                items.append((document_id, None, ChunkDraft(seq=seq, text=text, start=0, end=len(text))))
        if vectors:
            workspace.vectors.upsert(
                [chunk_id(document_id, draft.seq) for document_id, _, draft in items],
                np.concatenate([synthetic_vectors(d) for d in batch]),
                [document_id for document_id, _, _ in items],
            )
        workspace.registry.add_chunks(items)
        for document_id in document_ids:
            workspace.registry.mark_indexed(document_id)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keyword-only", action="store_true", help="write no vectors; time keyword search only")
    parser.add_argument("--hosted", action="store_true", help="vectors served by a child process, as in the window")
    args = parser.parse_args()
    enforce_offline()
    rng = random.Random(7)
    words = _vocabulary(rng)
    modes = [Mode.KEYWORD] if args.keyword_only else list(Mode)
    with tempfile.TemporaryDirectory() as scratch:
        home = Home(Path(scratch) / "home", vectors_in_child=args.hosted)
        workspace = home.workspace()
        started = time.perf_counter()
        build(workspace, args.chunks, rng, words, vectors=not args.keyword_only)
        build_s = time.perf_counter() - started
        retriever = Retriever(workspace)
        retriever.search("warm up the model and caches", 5, mode=modes[0])
        timings: dict[str, list[float]] = {str(m): [] for m in modes}
        for _ in range(args.queries):
            question = "how do I " + " ".join(rng.choices(words[:2000], k=rng.randint(3, 8))) + "?"
            for mode in modes:
                begin = time.perf_counter()
                retriever.search(question, 5, mode=mode)
                timings[str(mode)].append((time.perf_counter() - begin) * 1000)
        count = workspace.registry.counts()["chunks"]
        home.close()

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1]

    record = {"bench": "search", "chunks": count, "queries": args.queries, "build_s": round(build_s, 1),
              "hosted": args.hosted}
    where = "a vector host (as in the window)" if args.hosted else "this process"
    rows = [("index", f"{count} chunks (built in {build_s:.0f} s), vectors in {where}")]
    for name, values in timings.items():
        record[f"{name}_p50_ms"] = round(statistics.median(values), 2)
        record[f"{name}_p95_ms"] = round(p95(values), 2)
        rows.append((f"{name} search", f"p50 {statistics.median(values):.1f} ms, p95 {p95(values):.1f} ms"))
    rows.append(("target", "hybrid p95 < 50 ms, query embedding included"))
    print_table("Search latency", rows)
    print_json(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
