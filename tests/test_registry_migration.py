"""A registry made by an older Hearth keeps working: its tables gain the new columns, its passages are read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop.core import word_boxes
from desktop.core.types import ChunkDraft, DocumentStatus
from desktop.ingest.loaders.image import NO_TEXT
from desktop.store.registry import Registry, chunk_id

# The chunks table as Hearth made it before OCR kept where its words are.
BEFORE_BOXES = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, title TEXT,
    size INTEGER NOT NULL, mtime REAL NOT NULL, content_hash TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    pages INTEGER, chunk_count INTEGER NOT NULL DEFAULT 0, indexed_at REAL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, text TEXT NOT NULL, page INTEGER, heading TEXT, start INTEGER NOT NULL,
    end INTEGER NOT NULL, context TEXT NOT NULL DEFAULT '', ocr_confidence REAL
);
INSERT INTO documents VALUES (1, '/scans/old.pdf', 'pdf', NULL, 10, 1.0, 'abc', 'indexed', NULL, 1, 1, 2.0);
INSERT INTO chunks VALUES (1048576, 1, 0, 'read before boxes', 1, NULL, 0, 17, '', 0.9);
"""


def _old_registry(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(BEFORE_BOXES)
    return path


def test_an_old_registry_is_read_without_boxes_read_only_or_not(tmp_path: Path) -> None:
    path = _old_registry(tmp_path / "index" / "registry.sqlite3")
    read_only = Registry(path, read_only=True)  # not migrated: the column is missing
    assert read_only.chunks([chunk_id(1, 0)])[chunk_id(1, 0)].ocr_boxes is None
    read_only.close()

    registry = Registry(path)
    old = registry.chunks([chunk_id(1, 0)])[chunk_id(1, 0)]
    assert (old.text, old.ocr_confidence, old.ocr_boxes) == ("read before boxes", 0.9, None)
    boxes = word_boxes.pack([(0.1, 0.1, 0.2, 0.15), (0.25, 0.1, 0.3, 0.15)])
    registry.add_chunks([(1, None, ChunkDraft(seq=1, text="two words", page=1, start=18, end=27,
                                               ocr_confidence=0.8, ocr_boxes=boxes))])
    assert registry.chunks([chunk_id(1, 1)])[chunk_id(1, 1)].ocr_boxes == boxes
    registry.close()


def test_a_picture_that_failed_for_having_no_text_is_skipped_once_opened(tmp_path: Path) -> None:
    """Before, a photo was 'failed: no text found in the image (OCR)'; unchanged, it is not read again."""
    path = _old_registry(tmp_path / "index" / "registry.sqlite3")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO documents(path, kind, size, mtime, content_hash, status, reason) VALUES"
                   " ('/photos/cat.jpg', 'image', 5, 1.0, 'def', 'failed', 'no text found in the image (OCR)'),"
                   " ('/photos/cut.jpg', 'image', 5, 1.0, 'ghi', 'failed', 'damaged image (truncated or corrupt)')")
    registry = Registry(path)
    cat, cut = registry.document_by_path("/photos/cat.jpg"), registry.document_by_path("/photos/cut.jpg")
    assert cat is not None and (cat.status, cat.reason) == (DocumentStatus.SKIPPED, NO_TEXT)
    assert cut is not None and cut.status == DocumentStatus.FAILED
    registry.close()
