"""OCR speed and accuracy: a scanned PDF of printed A4 pages (200 dpi, turned a little, speckled) read
through Hearth's parse pool, against bare `tesseract` on the very same page images.

Hearth's side is what indexing runs for a scan: a parse worker draws each page with PDFium and hands
it to Tesseract. The bare side gives Tesseract the pages as PNG files, one process each, with the same
single thread. Accuracy is the share of the printed words found in the text read (in any order).
Prints a table, then one JSON line.

Run: ``.venv/bin/python benchmarks/bench_ocr.py [--pages 10]``. Other work on the machine slows both
sides alike, so the ratio holds better than the pages per second.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import PeakMemory, print_json, print_table
from desktop.core.settings import HearthSettings, IndexSettings
from desktop.ingest.parsing import ParserPool
from desktop.services.documents import parser_config
from tests.scans import page_image, write_scanned_pdf

WORDS = (
    "the boiler pressure valve was serviced in march and the engineer noted a small leak near the north "
    "radiator which should be checked again before winter together with the thermostat wiring"
).split()


def pages(count: int) -> list[tuple[list[str], Image.Image]]:
    """``count`` pages of 30 printed lines each, with the lines printed."""
    made = []
    for seed in range(count):
        rng = random.Random(seed)
        lines = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(30)]
        made.append((lines, page_image(lines, seed=seed, angle=rng.uniform(-2.5, 2.5))))
    return made


def recall(printed: list[str], read: str) -> float:
    """The share of printed words found in ``read``, each occurrence counted once."""
    left = Counter(read.lower().split())
    found = 0
    for word in " ".join(printed).split():
        if left[word] > 0:
            left[word] -= 1
            found += 1
    return found / max(1, len(" ".join(printed).split()))


def hearth_side(pdf: Path, warm_up: Path) -> tuple[float, str]:
    """Seconds from the worker's first file (a note: the worker is started) to the scan's text."""
    pool = ParserPool(parser_config(HearthSettings(index=IndexSettings(parse_timeout_s=600))))
    outcomes = pool.parse([str(warm_up), str(pdf)])
    next(outcomes)
    started = time.perf_counter()
    [outcome] = list(outcomes)
    elapsed = time.perf_counter() - started
    if outcome.document is None:
        raise SystemExit(f"OCR failed: {outcome.error}")
    return elapsed, outcome.document.text


def bare_side(images: list[Path]) -> tuple[float, str]:
    started = time.perf_counter()
    texts = [
        subprocess.run(["tesseract", str(image), "stdout", "-l", "eng"], capture_output=True, text=True, check=True,
                       env={"OMP_THREAD_LIMIT": "1", "LC_ALL": "C"}).stdout
        for image in images
    ]
    return time.perf_counter() - started, "\n".join(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args()
    made = pages(args.pages)
    printed = [line for lines, _ in made for line in lines]
    with tempfile.TemporaryDirectory() as folder:
        pdf = write_scanned_pdf(Path(folder) / "scan.pdf", [image for _, image in made])
        note = Path(folder) / "note.txt"
        note.write_text("Starts the parse worker.\n", encoding="utf-8")
        images = []
        for number, (_, image) in enumerate(made):
            images.append(Path(folder) / f"page{number}.png")
            image.save(images[-1])
        with PeakMemory() as peak:
            hearth_s, hearth_text = hearth_side(pdf, note)
        bare_s, bare_text = bare_side(images)
    record = {
        "benchmark": "ocr", "pages": args.pages,
        "hearth_pages_per_s": round(args.pages / hearth_s, 3), "bare_pages_per_s": round(args.pages / bare_s, 3),
        "ratio": round(bare_s / hearth_s, 3),
        "hearth_word_recall": round(recall(printed, hearth_text), 4),
        "bare_word_recall": round(recall(printed, bare_text), 4),
        "peak_mb": round(peak.peak / 2**20),
    }
    print_table(f"OCR, {args.pages} scanned A4 pages at 200 dpi", [
        ("Hearth (parse worker, PDFium, Tesseract)", f"{record['hearth_pages_per_s']} pages/s ({hearth_s:.1f} s)"),
        ("bare tesseract on the same pages (PNG)", f"{record['bare_pages_per_s']} pages/s ({bare_s:.1f} s)"),
        ("Hearth vs bare", f"x{record['ratio']}"),
        ("words read, Hearth / bare", f"{record['hearth_word_recall']:.1%} / {record['bare_word_recall']:.1%}"),
        ("peak memory (process + workers + Tesseract)", f"{record['peak_mb']} MB"),
    ])
    print_json(record)


if __name__ == "__main__":
    main()
