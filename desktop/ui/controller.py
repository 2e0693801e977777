"""The controller: lives in the GUI thread, owns the worker threads and the three facades the
window talks to (chat, library, models), and starts and stops them.

Requests go to the workers as queued signals; results come back the same way. The only direct
calls into a worker are the thread-safe ones that must not wait behind running work: stopping an
answer, and pausing, resuming or cancelling indexing.

Threads: "engine" (model host, embedder, Chroma: answers), "indexing" (its own Workspace and
Indexer), "store" (conversation list and history, library listing, settings file, models
catalogue), "viewer" (re-extracting a cited document), "watcher" (folder changes) and "insights"
(answer statistics, the topic map, drift tests, feedback).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.model_info import ModelInfo
from desktop.core.settings import HearthSettings
from desktop.services.home import Home
from desktop.ui.drop import is_model
from desktop.ui.facades.chat import ChatFacade
from desktop.ui.facades.insights import InsightsFacade
from desktop.ui.facades.library import LibraryFacade
from desktop.ui.facades.models import ModelsFacade
from desktop.workers.documents import DocumentWorker
from desktop.workers.engine import EngineWorker
from desktop.workers.events import Problem
from desktop.workers.indexer import IndexWorker
from desktop.workers.insights import InsightsWorker
from desktop.workers.store import StoreWorker
from desktop.workers.threads import WorkerThread
from desktop.workers.typed import carrying, link
from desktop.workers.watcher import WatchWorker

log = logging.getLogger("hearth.ui")

STOP_TIMEOUT_MS = {
    "engine": 10_000, "indexing": 30_000, "store": 5_000, "viewer": 10_000, "watcher": 5_000, "insights": 30_000,
}


class Controller(QObject):
    problem = carrying(Problem)
    notice = Signal(str)

    _start = Signal()
    _close = Signal()

    def __init__(
        self,
        home: Home,
        *,
        preload: bool = True,
        watch_folders: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.home = home
        self.data_dir = home.data_dir
        self._closed = False

        self.engine = EngineWorker(home, preload=preload)
        self.store = StoreWorker(home)
        self.indexer = IndexWorker(home)
        self.documents = DocumentWorker(home.settings, home.data_dir)
        self.watcher = WatchWorker(home.data_dir, home.settings)
        self.insights_worker = InsightsWorker(home)
        self.threads = {
            "engine": WorkerThread(self.engine, "hearth-engine"),
            "store": WorkerThread(self.store, "hearth-store"),
            "indexing": WorkerThread(self.indexer, "hearth-indexing"),
            "viewer": WorkerThread(self.documents, "hearth-viewer"),
            "watcher": WorkerThread(self.watcher, "hearth-watcher"),
            "insights": WorkerThread(self.insights_worker, "hearth-insights"),
        }
        self.chat = ChatFacade(self.engine, self.store, self)
        self.library = LibraryFacade(
            self.indexer, self.watcher, self.store, self.documents, watch_folders=watch_folders, parent=self
        )
        self.models = ModelsFacade(home, self.engine, self.store, self)
        self.insights = InsightsFacade(self.insights_worker, self)

        # The chat list first, the model last: the window is usable while the model loads.
        for start in (self.store.start, self.indexer.start, self.watcher.start, self.engine.start,
                      self.insights_worker.start):
            self._start.connect(start)
        for worker in (self.engine, self.indexer, self.store, self.documents, self.watcher, self.insights_worker):
            self._close.connect(worker.close)
            link(worker, problem=self._on_problem)
        link(self.chat, problem=self._on_problem, exported=self._on_exported)
        link(self.models, added=self._on_model_added)

    @property
    def settings(self) -> HearthSettings:
        return self.home.settings.value

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every thread; the window is already on screen, loading happens behind it."""
        for thread in self.threads.values():
            thread.start()
        self._start.emit()

    def shutdown(self) -> None:
        """Stop everything in order; never hangs: each thread gets a deadline."""
        if self._closed:
            return
        self._closed = True
        self.library.close()
        self.engine.stop_answer()  # the answer is saved, marked as stopped
        self.indexer.shut_down()  # work done so far is kept
        self.documents.want(None)  # a document being read is abandoned
        self._close.emit()
        for name, thread in self.threads.items():
            if not thread.join(STOP_TIMEOUT_MS[name]) and name == "engine":
                self.engine.kill_host()
                thread.join(STOP_TIMEOUT_MS[name])
        self.home.close()

    # -- what spans the facades -------------------------------------------------------------------
    def add_paths(self, paths: list[Path]) -> None:
        """Index documents and folders; .gguf files are added as models instead."""
        for model in (p for p in paths if is_model(p)):
            self.models.add(model)
        documents = [p for p in paths if not is_model(p)]
        if documents:
            self.library.add(documents)

    def apply_settings(self, settings: HearthSettings, *, rebuild: bool = False) -> None:
        """Make validated settings the live ones; ``rebuild`` re-indexes everything."""
        self.models.apply(settings)
        if rebuild:
            self.library.rebuild()

    def _on_problem(self, problem: Problem) -> None:
        log.info("problem shown (%s): %s", problem.source, problem.message)
        self.problem.emit(problem)

    def _on_exported(self, path: Path) -> None:
        self.notice.emit(f"Exported to {path}")

    def _on_model_added(self, info: ModelInfo) -> None:
        self.notice.emit(f"Added the model {info.name}.")
