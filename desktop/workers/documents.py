"""The viewer thread: re-extracts a cited document's text so the window can show the passage in place.

Extraction can take seconds for a long document, so it never runs in the GUI thread. The last
document is kept, since people often click several citations of the same file in a row.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.errors import HearthError
from desktop.core.types import ExtractedDocument, Passage
from desktop.ingest.loaders import load_document
from desktop.workers.errors import reported
from desktop.workers.events import DocumentText
from desktop.workers.threads import quit_current_thread


class DocumentWorker(QObject):
    loaded = Signal(object)  # DocumentText
    problem = Signal(object)  # Problem

    def __init__(self) -> None:
        super().__init__()
        self._cached: tuple[str, float, ExtractedDocument] | None = None

    @Slot(object)
    @reported("viewer")
    def load(self, passage: Passage) -> None:
        document = self._extract(passage.path)
        self.loaded.emit(DocumentText(passage=passage, kind=document.kind, text=document.text))

    @Slot()
    def close(self) -> None:
        self._cached = None
        quit_current_thread()

    def _extract(self, path: str) -> ExtractedDocument:
        try:
            mtime = os.stat(path).st_mtime
        except FileNotFoundError:
            raise HearthError(f"{Path(path).name} is no longer at {path}.") from None
        if self._cached is not None and self._cached[:2] == (path, mtime):
            return self._cached[2]
        document = load_document(Path(path))
        self._cached = (path, mtime, document)
        return document
