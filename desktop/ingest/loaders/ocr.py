"""Text from a picture of a page, by Tesseract (Debian's ``tesseract-ocr``) in a child process.

Tesseract gets pixels Hearth decoded and checked, as a PGM on its standard input, and writes TSV
(words, boxes, confidences) to its standard output: it is never given a path or an address (it can
fetch URLs), so it reads nothing else and opens no connection. It inherits the parse worker's memory
cap and dies with the worker, so the time limit that kills a worker ends its OCR too.

Measured against RapidOCR (PP-OCRv4 on ONNX Runtime) on the same noisy, rotated pages: Tesseract read
99.6–100% of the words at 2–3 s a page, RapidOCR 71–78% (it runs English words together) at 14–22 s.
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import shutil
import signal
import subprocess
import sys

from PIL import Image

from desktop.core import word_boxes
from desktop.core.errors import ParseError
from desktop.core.types import OcrText
from desktop.ingest.loaders.cleanup import clean_inline

# Tesseract's best size is text about 30 pixels tall: 200 dpi for a printed page, measured as accurate as 300
# and 1.4 times faster. Bigger pictures are scaled down to this many pixels (about A4 at 500 dpi).
PAGE_DPI = 200
MAX_PIXELS = 24_000_000
NOT_INSTALLED = "OCR needs Tesseract, which is not installed (Debian and Ubuntu: apt install tesseract-ocr)"
_PR_SET_PDEATHSIG = 1


def scaled_to_fit(width: float, height: float, scale: float = 1.0) -> float:
    """``scale``, lowered so that the picture drawn at it holds at most MAX_PIXELS."""
    area = width * height * scale * scale
    return scale if area <= MAX_PIXELS else scale * math.sqrt(MAX_PIXELS / area)


def recognise(image: Image.Image) -> OcrText:
    """The text in ``image``; "" when there is none. Raises ParseError if Tesseract cannot run."""
    grey = _grey(image)
    return _read_tsv(_run(_pgm(grey)), grey.width, grey.height)


def _grey(image: Image.Image) -> Image.Image:
    """One grey channel, transparent parts white, at most MAX_PIXELS."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    grey = image.convert("L")
    scale = scaled_to_fit(*grey.size)
    if scale < 1.0:
        grey = grey.resize((max(1, int(grey.width * scale)), max(1, int(grey.height * scale))), Image.Resampling.BOX)
    return grey


def _pgm(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PPM")  # an "L" image is written as PGM
    return buffer.getvalue()


def _run(pgm: bytes) -> str:
    program = shutil.which("tesseract")
    if program is None:
        raise ParseError(NOT_INSTALLED)
    # One thread: the parse pool reads files side by side, and OpenMP's spinning threads made a page
    # five times slower on a busy two-core machine.
    environment = {"OMP_THREAD_LIMIT": "1", "LC_ALL": "C"}
    if "TESSDATA_PREFIX" in os.environ:  # a system that keeps the language data elsewhere
        environment["TESSDATA_PREFIX"] = os.environ["TESSDATA_PREFIX"]
    try:
        result = subprocess.run(
            [program, "stdin", "stdout", "-l", "eng", "tsv"], input=pgm, capture_output=True, env=environment,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None, check=False,
        )
    except OSError as exc:
        raise ParseError(f"OCR could not start ({exc.strerror or type(exc).__name__})") from exc
    if result.returncode != 0:
        raise ParseError("OCR failed on a page (out of memory, or missing English language data)")
    return result.stdout.decode("utf-8", errors="replace")


def _die_with_parent() -> None:
    """In the child before exec: a parse worker killed at its time limit takes its OCR with it."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _read_tsv(tsv: str, width: int, height: int) -> OcrText:
    """Words grouped into lines and paragraphs as Tesseract found them, each with its box on the page."""
    paragraphs: dict[tuple[str, ...], dict[str, list[tuple[str, word_boxes.Box]]]] = {}
    weighted = letters = 0.0
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t", 11)
        if len(fields) != 12 or fields[0] != "5":
            continue  # not a word (pages, blocks, lines and empty boxes have rows too)
        # Cleaned here, word by word, so that the text holds exactly one run of non-space per box.
        word = "".join((clean_inline(fields[11], limit=1000) or "").split())
        if not word:
            continue
        left, top, wide, high = (int(value) for value in fields[6:10])
        box = (left / width, top / height, (left + wide) / width, (top + high) / height)
        paragraph = paragraphs.setdefault(tuple(fields[1:4]), {})
        paragraph.setdefault(fields[4], []).append((word, box))
        weighted += max(0.0, float(fields[10])) * len(word)
        letters += len(word)
    lines = [list(paragraph.values()) for paragraph in paragraphs.values()]
    text = "\n\n".join("\n".join(" ".join(word for word, _ in line) for line in group) for group in lines)
    boxes = word_boxes.pack(box for group in lines for line in group for _, box in line)
    return OcrText(text=text, confidence=round(weighted / letters / 100, 3) if letters else 0.0, boxes=boxes)
