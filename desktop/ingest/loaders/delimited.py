"""CSV and TSV files: each row becomes a "header: value; header: value" line, 20 rows to a paragraph."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_text
from desktop.ingest.loaders.encoding import decode_text
from desktop.ingest.loaders.files import read_bytes

ROWS_PER_PARAGRAPH = 20
_SNIFF_CHARS = 8_192
_SNIFF_ROWS = 50
_CANDIDATES = ",;\t|"


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    text = decode_text(read_bytes(path, limits.max_bytes))
    delimiter = _delimiter(text, "\t" if path.suffix.lower() == ".tsv" else ",")
    try:
        body = _render(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:  # a field over the csv module's size limit, or similar: keep the text as it is
        body = text
    body = clean_text(body)
    if not body:
        raise ParseError("empty document")
    return ExtractedDocument(kind=kind, sections=(Section(text=body),))


def _delimiter(text: str, default: str) -> str:
    """The candidate that splits the first rows into the same number of fields most often.

    Not csv.Sniffer: its regular expressions take seconds on some inputs (many quotes and newlines).
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    best, best_score = default, (0, 0)
    for candidate in default + _CANDIDATES.replace(default, ""):
        try:
            rows = csv.reader(io.StringIO(sample, newline=""), delimiter=candidate)
            widths = Counter(len(row) for row in islice(rows, _SNIFF_ROWS) if row)
        except csv.Error:
            continue
        width, rows_agreeing = widths.most_common(1)[0] if widths else (0, 0)
        score = (rows_agreeing, width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _render(rows: Iterable[list[str]]) -> str:
    header: list[str] | None = None
    lines: list[str] = []
    for row in rows:
        cells = [" ".join(cell.split()) for cell in row]  # one line per row; clean_text does the rest
        if not any(cells):
            continue
        if header is None:
            header = cells
        else:
            lines.append(_row_line(header, cells))
    if header is not None and not lines:  # a header alone is still the file's content
        return " | ".join(header)
    starts = range(0, len(lines), ROWS_PER_PARAGRAPH)
    return "\n\n".join("\n".join(lines[start : start + ROWS_PER_PARAGRAPH]) for start in starts)


def _row_line(header: list[str], cells: list[str]) -> str:
    """Empty values are left out; columns without a header name are numbered."""
    pairs = []
    for number, value in enumerate(cells, start=1):
        if value:
            name = header[number - 1] if number <= len(header) and header[number - 1] else f"column {number}"
            pairs.append(f"{name}: {value}")
    return "; ".join(pairs)
