"""Peak memory of indexing a whole corpus as a user would: `hearth index` in a fresh data folder.

    .venv/bin/python benchmarks/bench_index_memory.py [CORPUS]   (default: the SQLite documentation)

The RSS of the command and all its children (parse workers, OCR) is sampled every 50 ms. Prints a
table, then one JSON line. Target (issue 13): under 1.0 GB for the full SQLite documentation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import PeakMemory, print_json, print_table

TARGET_BYTES = 1_000_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", default="/usr/share/doc/sqlite3")
    args = parser.parse_args()
    hearth = Path(sys.executable).parent / "hearth"
    with tempfile.TemporaryDirectory(prefix="hearth-memory-") as scratch:
        started = time.perf_counter()
        with PeakMemory() as memory:
            done = subprocess.run([str(hearth), "index", args.corpus, "--json"], capture_output=True, text=True,
                                  env={**os.environ, "HEARTH_HOME": scratch}, check=False)
        seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some files failed, reported in the JSON
        print(done.stderr, file=sys.stderr)
        return done.returncode
    report = json.loads(done.stdout)
    record = {"bench": "index_memory", "corpus": args.corpus, "files": report["added"], "passages": report["chunks"],
              "failed": len(report["failed"]), "skipped": len(report.get("skipped", [])),
              "seconds": round(seconds, 1), "peak_mb": round(memory.peak / 1e6), "target_mb": TARGET_BYTES // 10**6}
    print_table("Indexing a corpus: peak memory", [
        ("corpus", f"{args.corpus}: {record['files']} files, {record['passages']} passages"),
        ("failed / skipped", f"{record['failed']} / {record['skipped']}"),
        ("time", f"{seconds:.0f} s (machine load decides it)"),
        ("peak memory", f"{record['peak_mb']} MB (process and children)"),
        ("target", "< 1,000 MB"),
    ])
    print_json(record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
