"""The library: what is indexed, the indexing runs, the watched folders and the cited document shown."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.types import IndexProgress, Passage
from desktop.workers.documents import DocumentWorker
from desktop.workers.events import (
    DocumentRequest,
    DocumentShown,
    IndexFinished,
    IndexRequest,
    IndexStarted,
    LibrarySnapshot,
)
from desktop.workers.indexer import IndexWorker
from desktop.workers.store import StoreWorker
from desktop.workers.typed import carrying, link, relay
from desktop.workers.watcher import WatchWorker

REFRESH_MS = 1000  # the library list follows indexing at most once a second


class LibraryFacade(QObject):
    changed = carrying(LibrarySnapshot)
    indexStarted = carrying(IndexStarted)
    indexProgress = carrying(IndexProgress)
    indexFinished = carrying(IndexFinished)
    documentShown = carrying(DocumentShown)  # its text, a PDF's bytes, or why it cannot be shown
    forgotten = Signal()  # documents were removed from the library (not by an indexing run)

    _refresh = Signal()
    _index = carrying(IndexRequest)
    _forget = carrying(tuple[str, ...])
    _watch = carrying(tuple[str, ...])
    _load = carrying(DocumentRequest)

    def __init__(
        self,
        indexer: IndexWorker,
        watcher: WatchWorker,
        store: StoreWorker,
        documents: DocumentWorker,
        *,
        watch_folders: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._indexer = indexer
        self._documents = documents
        self._watch_folders = watch_folders
        self._closed = False
        self.snapshot = LibrarySnapshot(documents=(), roots=(), passages=0)
        self.watched: tuple[str, ...] = ()  # folders whose changes are picked up
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh)

        self._refresh.connect(store.refresh_library)
        link(self, _index=indexer.index, _forget=indexer.forget, _watch=watcher.watch, _load=documents.load)
        link(store, library=self._on_library)
        link(indexer, job_progress=self._on_progress, job_finished=self._on_finished, roots=self._on_roots)
        indexer.changed.connect(self._refresh)
        indexer.changed.connect(self.forgotten)
        relay(indexer, "job_started", self, "indexStarted")
        relay(documents, "loaded", self, "documentShown")
        link(watcher, changed=self._on_folders_changed, watching=self._on_watching)

    def add(self, paths: list[Path]) -> None:
        self._request(IndexRequest(paths=tuple(str(p) for p in paths)))

    def reindex(self, paths: tuple[str, ...]) -> None:
        """Drop what is stored for these files and folders, then read them again."""
        self._request(IndexRequest(paths=paths, forget_first=True))

    def rebuild(self) -> None:
        """Index everything again (after a setting the vectors depend on changed)."""
        if self.snapshot.roots:
            self._request(IndexRequest(paths=self.snapshot.roots))

    def remove(self, paths: tuple[str, ...]) -> None:
        self._forget.emit(paths)

    # Thread-safe calls: they must not wait behind the run they control.
    def pause(self) -> None:
        self._indexer.pause()

    def resume(self) -> None:
        self._indexer.resume()

    def cancel(self) -> None:
        self._indexer.cancel()

    def open_passage(self, passage: Passage) -> None:
        """Ask the viewer thread for the document; a read still running is abandoned."""
        request = DocumentRequest(passage=passage)
        self._documents.want(request)
        self._load.emit(request)

    def close(self) -> None:
        """No new runs from here on (the watcher may still report changes while threads stop)."""
        self._closed = True
        self._timer.stop()

    def _request(self, request: IndexRequest) -> None:
        if not self._closed:
            self._index.emit(request)

    def _on_library(self, snapshot: LibrarySnapshot) -> None:
        self.snapshot = snapshot
        self.changed.emit(snapshot)

    def _on_progress(self, progress: IndexProgress) -> None:
        self.indexProgress.emit(progress)
        if not self._timer.isActive():
            self._timer.start()

    def _on_finished(self, finished: IndexFinished) -> None:
        self._refresh.emit()
        self.indexFinished.emit(finished)

    def _on_roots(self, roots: tuple[str, ...]) -> None:
        if self._watch_folders:
            self._watch.emit(roots)

    def _on_watching(self, folders: tuple[str, ...]) -> None:
        self.watched = folders

    def _on_folders_changed(self, roots: tuple[str, ...]) -> None:
        self._request(IndexRequest(paths=roots))
