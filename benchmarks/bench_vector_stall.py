"""How long Chroma's writes stall the window's thread: the store in the app's process against the vector host.

    .venv/bin/python benchmarks/bench_vector_stall.py [--vectors 30000]

A thread standing in for the GUI thread wakes every 5 ms and records how late it woke; meanwhile the
indexer's write pattern (VectorStore.upsert: slices of 32, a short pause between them) writes random
vectors into a fresh store, first in this process, then through a vector host (desktop/store/vector_host.py).
Chroma's native calls hold Python's global lock, so in this process the thread waits for each call;
with the host the calls run in another process. Both runs are on the same machine in the same run, so
their ratio is what to compare. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import print_json, print_table
from desktop.core.offline import enforce_offline
from desktop.store.vector_host import HostedVectors, VectorHost
from desktop.store.vectors import VectorStore

TICK_S = 0.005
BATCH = 256  # vectors per indexer write (one embedding batch); upsert slices it further


class Ticker:
    """Records how much later than asked each 5 ms sleep ends: the time Python code on this thread waited."""

    def __init__(self) -> None:
        self.lateness_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = time.perf_counter()
            time.sleep(TICK_S)
            self.lateness_ms.append((time.perf_counter() - asked - TICK_S) * 1000)

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(store: VectorStore | HostedVectors, vectors: np.ndarray) -> dict[str, float]:
    started = time.perf_counter()
    with Ticker() as ticker:
        for start in range(0, len(vectors), BATCH):
            ids = list(range(start, min(start + BATCH, len(vectors))))
            store.upsert(ids, vectors[ids[0] : ids[-1] + 1], [i // 10 for i in ids])
    late = np.array(ticker.lateness_ms)
    return {
        "write_s": time.perf_counter() - started,
        "median_ms": float(np.median(late)),
        "p99_ms": float(np.percentile(late, 99)),
        "max_ms": float(late.max()),
        "over_50ms": int((late > 50).sum()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=30_000)
    args = parser.parse_args()
    enforce_offline()
    vectors = np.random.default_rng(0).standard_normal((args.vectors, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as folder:
        in_process = measure(VectorStore(Path(folder) / "here"), vectors)
        host = VectorHost(Path(folder) / "hosted")
        try:
            host.store().count()  # the child's start-up is not a write
            hosted = measure(host.store(), vectors)
        finally:
            host.close()
    rows = [(key.replace("_", " "), f"{in_process[key]:,.1f} in this process, {hosted[key]:,.1f} with the host")
            for key in in_process]
    print_table(f"The waiting thread's lateness while {args.vectors:,} vectors are written", rows)
    print_json({"benchmark": "vector_stall", "vectors": args.vectors, "in_process": in_process, "hosted": hosted,
                "max_ratio": in_process["max_ms"] / max(hosted["max_ms"], 0.1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
