"""Cited documents for the viewer, read under the same limits and checks as indexing.

Text is extracted in a parse worker process (time limit, memory cap, size limit), never in the
app. A PDF is drawn by QtPdf in the app, so it gets its bytes from here: read through the file
checks (regular file, non-blocking open, size bound), and only once the sandboxed parser has read
that same file within the limits. A picture of a page (an image file read by OCR) is decoded here the
same way, once a parse worker has decoded every page of the same file. Where a passage was read by
OCR, its words' boxes on the page come from the registry, so the viewer can mark them.

"Open with the system" is for documents only: a script or program would be run, not shown.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.core import word_boxes
from desktop.core.errors import Cancelled, ParseError, StoreError
from desktop.core.settings import HearthSettings
from desktop.core.types import ExtractedDocument, Passage
from desktop.core.userfiles import describe_os_error
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import SCANNED_OCR_OFF, kind_for
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.image import OCR_OFF
from desktop.ingest.parsing import ChunkingConfig, ParserConfig, ParserPool
from desktop.services.workspace import registry_path
from desktop.store.registry import Registry

# Kinds the desktop may open: not "code", whose scripts some systems run when opened (.js, .py, .sh).
OPENABLE_KINDS = frozenset(
    {"text", "config", "markdown", "rst", "org", "pdf", "docx", "html", "epub", "csv", "image"}
)

Identity = tuple[int, int, int, int, int]
PICTURE_PIXELS = 6_000_000  # a page picture is shown at most this big (an A4 page at 250 dpi)
CHECKED = frozenset({SCANNED_OCR_OFF, OCR_OFF})  # what a parse with OCR off says of a file it read through


@dataclass(frozen=True)
class Picture:
    """A page as OCR saw it: RGB pixels, three bytes each, row after row."""

    width: int
    height: int
    rgb: bytes


def parser_config(settings: HearthSettings, chunking: ChunkingConfig | None = None) -> ParserConfig:
    """The limits every read of a person's file goes through, for indexing and the viewer alike."""
    return ParserConfig(
        limits=LoadLimits(max_bytes=int(settings.index.max_file_mb * 2**20), ocr=settings.index.ocr),
        timeout_s=settings.index.parse_timeout_s,
        memory_mb=settings.index.parse_memory_mb,
        chunking=chunking,
    )


def safe_to_open(path: Path) -> bool:
    """True for a regular, non-executable file of a document kind Hearth indexes (checked by stat, never opened)."""
    if kind_for(path) not in OPENABLE_KINDS:
        return False
    try:
        info = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and not info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class DocumentReader:
    """Reads cited documents one at a time, keeping the last one (people click several citations of
    the same file in a row). ``cancel`` may be called from any thread."""

    def __init__(self, settings: HearthSettings) -> None:
        self.config = parser_config(settings)
        # QtPdf shows a scan as its pictures: checking it needs PDFium's walk of the file, not its OCR again;
        # an image file is checked by decoding its pages.
        self._check = parser_config(settings.updated(index={"ocr": False}))
        self._pool: ParserPool | None = None
        self._lock = threading.Lock()
        self._last: tuple[str, Identity, ExtractedDocument | bytes] | None = None

    def text(self, path: str, wanted: Callable[[], bool] = lambda: True) -> ExtractedDocument:
        """The document's text, extracted in a parse worker; raises ParseError, or Cancelled once
        ``wanted()`` turns false."""
        identity = _identity(path)
        cached = self._recall(path, identity)
        if isinstance(cached, ExtractedDocument):
            return cached
        document = self._extract(path, wanted)
        self._last = (path, identity, document)
        return document

    def pdf(self, path: str, wanted: Callable[[], bool] = lambda: True) -> bytes:
        """A PDF's bytes for QtPdf, once a parse worker has read the same file within the limits."""
        identity = _identity(path)
        cached = self._recall(path, identity)
        if isinstance(cached, bytes):
            return cached
        data = self._checked_bytes(path, identity, wanted)
        self._last = (path, identity, data)
        return data

    def picture(self, path: str, page: int, wanted: Callable[[], bool] = lambda: True) -> Picture:
        """Page ``page`` of an image file as OCR saw it, once a parse worker has decoded the same file."""
        from desktop.ingest.loaders.image import picture

        data = self._checked_bytes(path, _identity(path), wanted)
        try:
            shown = picture(data, page, self.config.limits, PICTURE_PIXELS)
        except MemoryError as exc:
            raise ParseError("too large to show (out of memory)") from exc
        return Picture(width=shown.width, height=shown.height, rgb=shown.tobytes())

    def _checked_bytes(self, path: str, identity: Identity, wanted: Callable[[], bool]) -> bytes:
        """The file's bytes, read through the file checks, once a parse worker read the same file with OCR off."""
        data = read_bytes(Path(path), self.config.limits.max_bytes)
        try:
            self._extract(path, wanted, self._check)
        except ParseError as exc:
            if str(exc) not in CHECKED:
                raise
        if _identity(path) != identity:  # the app must get the very file the parser checked
            raise ParseError("the file changed while it was being opened")
        return data

    def cancel(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.cancel()

    def _recall(self, path: str, identity: Identity) -> ExtractedDocument | bytes | None:
        return self._last[2] if self._last is not None and self._last[:2] == (path, identity) else None

    def _extract(self, path: str, wanted: Callable[[], bool], config: ParserConfig | None = None) -> ExtractedDocument:
        pool = ParserPool(config or self.config)
        with self._lock:
            self._pool = pool
        if not wanted():  # asked to stop before the pool could be cancelled
            pool.cancel()
        try:
            outcomes = list(pool.parse([path]))
        finally:
            with self._lock:
                self._pool = None
        if outcomes and outcomes[0].document is not None:
            return outcomes[0].document
        if not wanted():
            raise Cancelled("stopped")
        raise ParseError((outcomes[0].error if outcomes else None) or "the parser stopped unexpectedly")


def _identity(path: str) -> Identity:
    """What changes when the file is written, replaced or swapped (stat never opens it)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ParseError(f"it is no longer at {path}") from None
    except OSError as exc:
        raise ParseError(describe_os_error(exc, opened=False)) from exc
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def passage_boxes(data_dir: Path, passage: Passage) -> tuple[word_boxes.Box, ...]:
    """Where on its page to mark a passage read by OCR: the boxes of the words of its supporting sentences, or
    of all its words. () for a text layer, or when the index no longer holds this very passage."""
    path = registry_path(data_dir)
    if not path.exists():
        return ()
    try:
        registry = Registry(path, read_only=True)
        try:
            chunk = registry.chunks([passage.chunk_id]).get(passage.chunk_id)
        finally:
            registry.close()
    except (StoreError, sqlite3.Error):
        return ()  # no boxes only means no marks
    if chunk is None or chunk.text != passage.text:
        return ()
    spans = [(span.start, span.end) for span in passage.supports]
    return word_boxes.boxes_for(chunk.text, chunk.ocr_boxes, spans) or word_boxes.boxes_for(chunk.text, chunk.ocr_boxes)
