"""Plain text, source code, configuration and log files: one section of cleaned text."""

from __future__ import annotations

from pathlib import Path

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_text
from desktop.ingest.loaders.encoding import decode_text
from desktop.ingest.loaders.files import read_bytes

_INDENTED_KINDS = frozenset({"code", "config"})  # indentation carries meaning there


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    text = clean_text(decode_text(read_bytes(path, limits.max_bytes)), keep_indent=kind in _INDENTED_KINDS)
    if not text:
        raise ParseError("empty document")
    return ExtractedDocument(kind=kind, sections=(Section(text=text),))
