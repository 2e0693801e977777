"""CSV and TSV files: each row becomes a "header: value; header: value" line, 20 rows to a paragraph."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_inline, clean_text
from desktop.ingest.loaders.encoding import decode_text
from desktop.ingest.loaders.files import read_bytes

ROWS_PER_PARAGRAPH = 20
_SNIFF_CHARS = 16_384


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
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:
        sample = sample[: sample.rfind("\n") + 1] or sample  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return default


def _render(rows: Iterable[list[str]]) -> str:
    header: list[str] | None = None
    lines: list[str] = []
    for row in rows:
        cells = [clean_inline(cell) or "" for cell in row]
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
