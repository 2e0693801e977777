"""The controller: lives in the GUI thread, owns the worker threads, and is all the widgets talk to.

Requests go to the workers as queued signals; results come back the same way. The only direct
calls into a worker are the thread-safe ones that must not wait behind running work: stopping an
answer, and pausing, resuming or cancelling indexing.

Threads: "engine" (model host, embedder, Chroma: answers), "indexing" (its own Workspace and
Indexer), "store" (conversation list and history, library listing, settings file, models
catalogue), "viewer" (re-extracting a cited document) and "watcher" (folder changes).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.document_task import DocumentTask
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.core.types import IndexProgress, Passage
from desktop.services.answering import AnswerFinished, AnswerStarted
from desktop.services.home import Home
from desktop.ui.drop import is_model
from desktop.workers.documents import DocumentWorker
from desktop.workers.engine import EngineWorker
from desktop.workers.events import (
    AnswerFailed,
    AskRequest,
    ConversationList,
    DocumentRequest,
    EngineStatus,
    ExportRequest,
    IndexFinished,
    IndexRequest,
    LibrarySnapshot,
    ModelChoice,
    Problem,
    RenameRequest,
)
from desktop.workers.indexer import IndexWorker
from desktop.workers.store import StoreWorker
from desktop.workers.threads import WorkerThread
from desktop.workers.watcher import WatchWorker

log = logging.getLogger("hearth.ui")

LIBRARY_REFRESH_MS = 1000  # the library list follows indexing at most once a second
STOP_TIMEOUT_MS = {"engine": 10_000, "indexing": 30_000, "store": 5_000, "viewer": 10_000, "watcher": 5_000}


class Controller(QObject):
    # -- to the widgets -------------------------------------------------------------------------
    engineStatus = Signal(object)  # EngineStatus
    conversations = Signal(object)  # ConversationList
    conversationOpened = Signal(object)  # ConversationContent
    conversationDeleted = Signal(object)  # int
    answerBegan = Signal(object)  # AnswerStarted
    answerPiece = Signal(object)  # AnswerToken
    answerDone = Signal(object)  # AnswerFinished
    answerFailed = Signal(object)  # AnswerFailed
    streamingChanged = Signal(bool)
    library = Signal(object)  # LibrarySnapshot
    indexStarted = Signal(object)  # IndexStarted
    indexProgress = Signal(object)  # IndexProgress
    indexFinished = Signal(object)  # IndexFinished
    documentShown = Signal(object)  # DocumentShown: text, a PDF's bytes, or why it cannot be shown
    models = Signal(object)  # ModelCatalog
    settingsChanged = Signal(object)  # HearthSettings
    problem = Signal(object)  # Problem
    notice = Signal(str)
    taskProgress = Signal(object)  # TaskProgress

    # -- to the workers (queued) ----------------------------------------------------------------
    _engine_start = Signal()
    _engine_ask = Signal(object)
    _engine_use_model = Signal(object)
    _engine_settings = Signal(object)
    _engine_close = Signal()
    _store_start = Signal()
    _store_list = Signal(object)  # str
    _store_open = Signal(object)  # int
    _store_rename = Signal(object)  # RenameRequest
    _store_delete = Signal(object)  # int
    _store_export = Signal(object)
    _store_library = Signal()
    _store_models = Signal()
    _store_add_model = Signal(object)  # str
    _store_save_settings = Signal(object)
    _store_close = Signal()
    _index_start = Signal()
    _index_run = Signal(object)
    _index_forget = Signal(object)
    _index_close = Signal()
    _watch_start = Signal()
    _watch_roots = Signal(object)
    _watch_close = Signal()
    _viewer_load = Signal(object)
    _viewer_close = Signal()

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
        self.models_dir = home.models_dir
        self.current_conversation: int | None = None
        self.streaming = False
        self.scope: tuple[int, ...] | None = None
        self.snapshot = LibrarySnapshot(documents=(), roots=(), passages=0)
        self.status: EngineStatus | None = None
        self.search = ""
        self.watched: tuple[str, ...] = ()  # folders whose changes are picked up
        self._closed = False

        self.engine = EngineWorker(home, preload=preload)
        self.store = StoreWorker(home)
        self.indexer = IndexWorker(home)
        self.documents = DocumentWorker(home.settings)
        self.watcher = WatchWorker(home.data_dir, home.settings)
        self._watch_folders = watch_folders
        self.threads = {
            "engine": WorkerThread(self.engine, "hearth-engine"),
            "store": WorkerThread(self.store, "hearth-store"),
            "indexing": WorkerThread(self.indexer, "hearth-indexing"),
            "viewer": WorkerThread(self.documents, "hearth-viewer"),
            "watcher": WorkerThread(self.watcher, "hearth-watcher"),
        }
        self._library_timer = QTimer(self)
        self._library_timer.setSingleShot(True)
        self._library_timer.setInterval(LIBRARY_REFRESH_MS)
        self._library_timer.timeout.connect(self._store_library)
        self._wire()

    def _wire(self) -> None:
        engine, store, indexer, documents, watcher = self.engine, self.store, self.indexer, self.documents, self.watcher
        for signal, slot in [
            (self._engine_start, engine.start), (self._engine_ask, engine.ask),
            (self._engine_use_model, engine.use_model), (self._engine_settings, engine.apply_settings),
            (self._engine_close, engine.close),
            (self._store_start, store.start), (self._store_list, store.list_conversations),
            (self._store_open, store.open_conversation), (self._store_rename, store.rename_conversation),
            (self._store_delete, store.delete_conversation), (self._store_export, store.export_conversation),
            (self._store_library, store.refresh_library), (self._store_models, store.list_models),
            (self._store_add_model, store.add_model), (self._store_save_settings, store.save_settings),
            (self._store_close, store.close),
            (self._index_start, indexer.start), (self._index_run, indexer.index),
            (self._index_forget, indexer.forget),
            (self._index_close, indexer.close),
            (self._watch_start, watcher.start), (self._watch_roots, watcher.watch),
            (self._watch_close, watcher.close),
            (self._viewer_load, documents.load),
            (self._viewer_close, documents.close),
        ]:
            signal.connect(slot)

        engine.status.connect(self._on_engine_status)
        engine.began.connect(self._on_began)
        engine.piece.connect(self.answerPiece)
        engine.done.connect(self._on_done)
        engine.failed.connect(self._on_failed)
        engine.progress.connect(self.taskProgress)
        store.conversations.connect(self._on_conversations)
        store.opened.connect(self.conversationOpened)
        store.deleted.connect(self.conversationDeleted)
        store.library.connect(self._on_library)
        store.models.connect(self.models)
        store.model_added.connect(lambda info: self.notice.emit(f"Added the model {info.name}."))
        store.exported.connect(lambda path: self.notice.emit(f"Exported to {path}"))
        store.settings_saved.connect(self.settingsChanged)
        indexer.job_started.connect(self.indexStarted)
        indexer.job_progress.connect(self._on_index_progress)
        indexer.job_finished.connect(self._on_index_finished)
        indexer.changed.connect(self._store_library)
        indexer.roots.connect(self._on_roots)
        documents.loaded.connect(self.documentShown)
        watcher.changed.connect(self._on_folders_changed)
        watcher.watching.connect(self._on_watching)
        for worker in (engine, store, indexer, documents, watcher):
            worker.problem.connect(self._on_problem)

    @property
    def settings(self) -> HearthSettings:
        return self.home.settings.value

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every thread; the window is already on screen, loading happens behind it."""
        for thread in self.threads.values():
            thread.start()
        self._store_start.emit()
        self._index_start.emit()
        self._watch_start.emit()
        self._engine_start.emit()

    def shutdown(self) -> None:
        """Stop everything in order; never hangs: each thread gets a deadline."""
        if self._closed:
            return
        self._closed = True
        self._library_timer.stop()
        self.engine.stop_answer()  # the answer is saved, marked as stopped
        self.indexer.shut_down()  # work done so far is kept
        self.documents.want(None)  # a document being read is abandoned
        for close in (self._engine_close, self._index_close, self._store_close, self._viewer_close,
                      self._watch_close):
            close.emit()
        for name, thread in self.threads.items():
            if not thread.join(STOP_TIMEOUT_MS[name]) and name == "engine":
                self.engine.kill_host()
                thread.join(STOP_TIMEOUT_MS[name])

    # -- chat -------------------------------------------------------------------------------------
    def ask(self, question: str, *, rag: bool = True) -> bool:
        """Send a question in the current conversation; False while another answer is streaming."""
        if self.streaming or not question.strip():
            return False
        self._set_streaming(True)
        self._engine_ask.emit(AskRequest(
            question=question, conversation_id=self.current_conversation, document_ids=self.scope, rag=rag
        ))
        return True

    def regenerate(self, question: str, *, rag: bool = True) -> bool:
        """Ask the current conversation's last ``question`` again, in place of its answer."""
        if self.streaming:
            return False
        self._set_streaming(True)
        self._engine_ask.emit(AskRequest(
            question=question, conversation_id=self.current_conversation, document_ids=self.scope, rag=rag,
            regenerate=True,
        ))
        return True

    def run_task(self, task: DocumentTask, label: str) -> bool:
        """Run a whole-document task in the current conversation, shown there as ``label``; False while busy."""
        if self.streaming:
            return False
        self._set_streaming(True)
        self._engine_ask.emit(AskRequest(question=label, conversation_id=self.current_conversation, task=task))
        return True

    def stop(self) -> None:
        if self.streaming:
            self.engine.stop_answer()

    def new_chat(self) -> None:
        self.current_conversation = None

    def open_conversation(self, conversation_id: int) -> None:
        self.current_conversation = conversation_id
        self._store_open.emit(conversation_id)

    def search_conversations(self, text: str) -> None:
        self.search = text
        self._store_list.emit(text)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self._store_rename.emit(RenameRequest(conversation_id=conversation_id, title=title))

    def delete_conversation(self, conversation_id: int) -> None:
        if self.streaming and conversation_id == self.current_conversation:
            self.problem.emit(Problem("chat", "Stop the answer being written before deleting this conversation."))
            return
        if conversation_id == self.current_conversation:
            self.current_conversation = None
        self._store_delete.emit(conversation_id)

    def export_conversation(self, conversation_id: int, target: Path, format: str) -> None:
        self._store_export.emit(ExportRequest(
            conversation_id=conversation_id, target=target, format="json" if format == "json" else "markdown"
        ))

    # -- library ----------------------------------------------------------------------------------
    def add_paths(self, paths: list[Path]) -> None:
        """Index documents and folders; .gguf files are added as models instead."""
        models = [p for p in paths if is_model(p)]
        documents = [p for p in paths if not is_model(p)]
        for model in models:
            self._store_add_model.emit(str(model))
        if documents:
            self._request_index(IndexRequest(paths=tuple(str(p) for p in documents)))

    def reindex(self, paths: tuple[str, ...]) -> None:
        self._request_index(IndexRequest(paths=paths, forget_first=True))

    def remove_documents(self, paths: tuple[str, ...]) -> None:
        self._index_forget.emit(paths)

    def pause_indexing(self) -> None:
        self.indexer.pause()

    def resume_indexing(self) -> None:
        self.indexer.resume()

    def cancel_indexing(self) -> None:
        self.indexer.cancel()

    def set_scope(self, document_ids: tuple[int, ...] | None) -> None:
        self.scope = document_ids

    def open_passage(self, passage: Passage) -> None:
        """Ask the viewer thread for the document (its text, or a PDF's bytes); a read still running is abandoned."""
        request = DocumentRequest(passage=passage)
        self.documents.want(request)
        self._viewer_load.emit(request)

    # -- models and settings ------------------------------------------------------------------------
    def refresh_models(self) -> None:
        self._store_models.emit()

    def use_model(self, path: str, *, force: bool = False) -> None:
        self._engine_use_model.emit(ModelChoice(path=path, force=force))
        inside = Path(path).parent.resolve() == self.models_dir.resolve()
        self.apply_settings(self.settings.model_copy(update={"default_model": Path(path).name if inside else path}))

    def save_model_settings(self, file_name: str, generation: GenerationSettings) -> None:
        overrides = {**self.settings.model_overrides, file_name: generation}
        self.apply_settings(self.settings.model_copy(update={"model_overrides": overrides}))

    def apply_settings(self, settings: HearthSettings, *, rebuild: bool = False) -> None:
        """Make validated settings the live ones (every worker reads them), save them, and let the
        engine reload the model if they change it; ``rebuild`` re-indexes everything."""
        self.home.settings.replace(settings)
        self._store_save_settings.emit(settings)
        self._engine_settings.emit(settings)
        if rebuild and self.snapshot.roots:
            self._request_index(IndexRequest(paths=self.snapshot.roots))

    # -- results from the workers ---------------------------------------------------------------
    def _on_engine_status(self, status: EngineStatus) -> None:
        self.status = status
        self.engineStatus.emit(status)

    def _on_began(self, began: AnswerStarted) -> None:
        if self.current_conversation is None:
            self.current_conversation = began.conversation_id
            self._store_list.emit(self.search)  # the new chat appears in the list
        self.answerBegan.emit(began)

    def _on_done(self, done: AnswerFinished) -> None:
        self._set_streaming(False)
        self._store_list.emit(self.search)  # its title and order change
        self.answerDone.emit(done)

    def _on_failed(self, failed: AnswerFailed) -> None:
        self._set_streaming(False)
        if self.current_conversation is None and failed.conversation_id is not None:
            self.current_conversation = failed.conversation_id
        self._store_list.emit(self.search)
        self.answerFailed.emit(failed)

    def _on_conversations(self, listing: ConversationList) -> None:
        if listing.search == self.search:  # an answer to an older search is dropped
            self.conversations.emit(listing)

    def _on_library(self, snapshot: LibrarySnapshot) -> None:
        self.snapshot = snapshot
        self.library.emit(snapshot)

    def _on_index_progress(self, progress: IndexProgress) -> None:
        self.indexProgress.emit(progress)
        if not self._library_timer.isActive():
            self._library_timer.start()

    def _on_index_finished(self, finished: IndexFinished) -> None:
        self._store_library.emit()
        self.indexFinished.emit(finished)

    def _on_roots(self, roots: tuple[str, ...]) -> None:
        if self._watch_folders:
            self._watch_roots.emit(roots)

    def _on_watching(self, folders: tuple[str, ...]) -> None:
        self.watched = folders

    def _on_folders_changed(self, roots: tuple[str, ...]) -> None:
        self._request_index(IndexRequest(paths=roots))

    def _on_problem(self, problem: Problem) -> None:
        log.info("problem shown (%s): %s", problem.source, problem.message)
        self.problem.emit(problem)

    def _request_index(self, request: IndexRequest) -> None:
        if self._closed:
            return
        self._index_run.emit(request)

    def _set_streaming(self, streaming: bool) -> None:
        if streaming != self.streaming:
            self.streaming = streaming
            self.streamingChanged.emit(streaming)
