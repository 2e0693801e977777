"""The library-drift test's error rates on real passages embedded by the real embedder.

    .venv/bin/python benchmarks/bench_drift.py [--runs 100] [--quick]

False positives: passages of one corpus (paragraphs of the Git documentation) split at random into
"new" and "existing", 100 seeded times: the test must not flag them (p > 0.05 in at least 95 runs).
Power: new passages from another corpus (the SQLite documentation) against the Git ones, with the
same sizes: the test must flag them with p < 0.01. The test is the one the Insights page runs after
indexing (desktop/services/drift.py: logistic regression on 32 principal components, 5-fold
cross-validated AUC, 199 label permutations).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import print_json, print_table
from desktop.core.offline import enforce_offline
from desktop.core.paths import models_dir
from desktop.services.drift import classifier_drift

GIT = Path("/usr/share/doc/git-doc")
SQLITE = Path("/usr/share/doc/sqlite3")
EXISTING, NEW = 600, 200


def paragraphs(folder: Path, count: int, seed: int) -> list[str]:
    """``count`` paragraphs of 25-150 words from the HTML pages under ``folder``, read by Hearth's loader."""
    from desktop.ingest.loaders import load_document

    found: list[str] = []
    for path in sorted(p for p in folder.rglob("*.html") if p.is_file() and not p.is_symlink()):
        for section in load_document(path).sections:
            found += [" ".join(p.split()) for p in section.text.split("\n\n") if 25 <= len(p.split()) <= 150]
    random.Random(seed).shuffle(found)
    if len(found) < count:
        raise SystemExit(f"bench_drift: only {len(found)} paragraphs under {folder}")
    return found[:count]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="20 runs")
    args = parser.parse_args()
    runs = 20 if args.quick else args.runs
    enforce_offline()
    if not GIT.is_dir() or not SQLITE.is_dir():
        print("bench_drift needs the Git and SQLite docs (the dev sets' corpora)", file=sys.stderr)
        return 1
    from desktop.store.embedder import load_embedder, runtime_for

    folder = models_dir()
    embedder = load_embedder(folder, "all-MiniLM-L6-v2", runtime_for(folder, "all-MiniLM-L6-v2", "onnx-int8"),
                             batch_size=32)
    began = time.perf_counter()
    git = np.asarray(embedder.embed(paragraphs(GIT, EXISTING + NEW, seed=1)), dtype=np.float32)
    sqlite = np.asarray(embedder.embed(paragraphs(SQLITE, NEW, seed=2)), dtype=np.float32)
    embed_s = time.perf_counter() - began

    split_p: list[float] = []
    seconds: list[float] = []
    for seed in range(runs):
        order = np.random.default_rng(seed).permutation(len(git))
        began = time.perf_counter()
        result = classifier_drift(git[order[:NEW]], git[order[NEW:]], seed=seed)
        seconds.append(time.perf_counter() - began)
        assert result.p_value is not None
        split_p.append(result.p_value)
    quiet = sum(p > 0.05 for p in split_p)
    flagged = sum(p < 0.01 for p in split_p)
    shifted = classifier_drift(sqlite, git[:EXISTING], seed=0)
    assert shifted.p_value is not None and shifted.auc is not None

    rows = [
        ("passages", f"{len(git)} Git doc paragraphs, {len(sqlite)} SQLite doc paragraphs "
                     f"(embedded in {embed_s:.0f} s)"),
        ("random splits not flagged", f"{quiet} of {runs} with p > 0.05 (target >= 95%); {flagged} flagged "
                                      f"(p < 0.01, the page's threshold)"),
        ("random splits' p-values", f"median {statistics.median(split_p):.2f}, lowest {min(split_p):.3f}"),
        ("planted shift (SQLite vs Git)", f"AUC {shifted.auc:.3f}, p = {shifted.p_value:.3f} (target < 0.01), "
                                          f"{'flagged' if shifted.drifted else 'NOT flagged'}"),
        ("one test", f"median {statistics.median(seconds):.1f} s"),
    ]
    print_table(f"Library drift: {NEW} new against {EXISTING} existing passages", rows)
    print_json({
        "bench": "drift", "runs": runs, "not_flagged_p_gt_005": quiet, "flagged_p_lt_001": flagged,
        "shift_auc": round(shifted.auc, 3), "shift_p": shifted.p_value, "shift_flagged": shifted.drifted,
        "median_test_s": round(statistics.median(seconds), 2),
        "passed": quiet >= 0.95 * runs and shifted.p_value < 0.01,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
