"""The viewer thread: reads a cited document so the window can show the passage in place.

Text is extracted by a parse worker process with the indexing limits, and a PDF's bytes are read
here for QtPdf (see desktop/services/documents.py), so a hostile, huge or swapped file costs a
worker process or a message, never the window. Only the latest request is read: a newer one
abandons the read in progress.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot

from desktop.core.errors import Cancelled, ParseError
from desktop.core.live_settings import LiveSettings
from desktop.core.types import Passage
from desktop.ingest.loaders import kind_for
from desktop.services.documents import DocumentReader, passage_boxes
from desktop.workers.errors import reported
from desktop.workers.events import (
    DocumentPdf,
    DocumentPicture,
    DocumentRefused,
    DocumentRequest,
    DocumentShown,
    DocumentText,
    Problem,
)
from desktop.workers.threads import quit_current_thread
from desktop.workers.typed import carrying


class DocumentWorker(QObject):
    loaded = carrying(DocumentShown)
    problem = carrying(Problem)

    def __init__(self, settings: LiveSettings, data_dir: Path) -> None:
        super().__init__()
        self._settings = settings
        self._data_dir = data_dir  # its registry says where the words of a passage read by OCR are
        self._reader_settings = settings.value
        self._reader = DocumentReader(self._reader_settings)
        self._wanted: DocumentRequest | None = None  # written by the GUI thread

    def want(self, request: DocumentRequest | None) -> None:
        """Thread-safe; called before ``load``: only this request is still wanted (None: none is)."""
        self._wanted = request
        self._reader.cancel()

    @Slot(object)
    @reported("viewer")
    def load(self, request: DocumentRequest) -> None:
        if request is not self._wanted:
            return  # another passage was asked for since
        try:
            shown = self._read(request)
        except Cancelled:
            return
        except ParseError as exc:
            message = f"{_name(request.passage)} cannot be shown: {exc}."
            shown = DocumentRefused(passage=request.passage, message=message)
        self.loaded.emit(shown)

    @Slot()
    def close(self) -> None:
        quit_current_thread()

    def _read(self, request: DocumentRequest) -> DocumentShown:
        passage = request.passage
        if self._settings.value is not self._reader_settings:  # parser limits may have changed
            self._reader_settings = self._settings.value
            self._reader = DocumentReader(self._reader_settings)

        def wanted() -> bool:
            return request is self._wanted

        kind = kind_for(Path(passage.path))
        boxes = passage_boxes(self._data_dir, passage) if kind in ("pdf", "image") else ()
        if kind == "pdf":
            return DocumentPdf(passage=passage, data=self._reader.pdf(passage.path, wanted), boxes=boxes)
        if boxes:  # an image, shown as OCR saw it; one indexed before boxes were kept shows its text
            picture = self._reader.picture(passage.path, passage.page or 1, wanted)
            return DocumentPicture(passage=passage, picture=picture, boxes=boxes)
        document = self._reader.text(passage.path, wanted)
        return DocumentText(passage=passage, kind=document.kind, text=document.text)


def _name(passage: Passage) -> str:
    return Path(passage.path).name or passage.path
