"""The engine thread: owns the chat model host, the embedder and the stores the answers need.

Everything heavy is created in ``start`` (inside the thread), never in the GUI thread. Stopping an
answer must not wait behind the running generation, so ``stop_answer`` is called directly from the
GUI thread: it only records the time and sets the host's cancel event.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.errors import HearthError
from desktop.core.model_info import ModelInfo
from desktop.core.settings import HearthSettings
from desktop.llm.host import HostState, ModelHost
from desktop.services.answering import Answerer, AnswerFinished, AnswerProgress, AnswerStarted, AnswerToken
from desktop.services.conversations import ConversationStore
from desktop.services.models import default_model_path
from desktop.services.workspace import Workspace
from desktop.workers.errors import describe, reported
from desktop.workers.events import (
    AnswerBegan,
    AnswerDone,
    AnswerFailed,
    AnswerPiece,
    AskRequest,
    EnginePhase,
    EngineStatus,
    ModelChoice,
    Problem,
)
from desktop.workers.threads import quit_current_thread

log = logging.getLogger("hearth.engine")

CONVERSATIONS_DB = "conversations.sqlite3"
PIECE_INTERVAL_S = 0.03  # tokens arriving faster than this travel to the window together


class EngineWorker(QObject):
    status = Signal(object)  # EngineStatus
    began = Signal(object)  # AnswerBegan
    piece = Signal(object)  # AnswerPiece
    done = Signal(object)  # AnswerDone
    failed = Signal(object)  # AnswerFailed
    problem = Signal(object)  # Problem
    progress = Signal(object)  # TaskProgress: how far a whole-document task is

    def __init__(
        self, data_dir: Path, models_dir: Path, settings: HearthSettings, *, preload: bool = True
    ) -> None:
        super().__init__()
        self._data_dir = data_dir
        self._models_dir = models_dir
        self._settings = settings
        self._preload = preload
        self._answerer: Answerer | None = None
        self._stopped_at = 0.0  # a float store is atomic: safe to write from the GUI thread

    # -- called from the GUI thread ---------------------------------------------------------
    def stop_answer(self) -> None:
        """Stop the answer being generated (or about to be) within about one token."""
        self._stopped_at = time.monotonic()
        answerer = self._answerer
        if answerer is not None:
            answerer.cancel()

    def kill_host(self) -> None:
        """Last resort at exit when the thread did not stop in time: end the model process."""
        answerer = self._answerer
        if answerer is not None:
            answerer.host.close()

    # -- slots (run in the engine thread) -----------------------------------------------------
    @Slot()
    @reported("model")
    def start(self) -> None:
        self.status.emit(EngineStatus(EnginePhase.STARTING, "Starting…"))
        answerer = self._open()
        if not self._preload:
            self._report_state()
            return
        # Torch, transformers and Chroma leave ~500k objects that live as long as the app. A full
        # garbage collection walks them all while holding the GIL (~0.5 s here), freezing the
        # window: no collection while they load, and frozen afterwards so collections skip them.
        gc.disable()
        try:
            self._load_default_model(answerer)
            self.status.emit(EngineStatus(EnginePhase.LOADING_EMBEDDER, "Preparing search…", self._model()))
            answerer.workspace.embedder.embed(["warm up"])  # loaded now, so the first question does not wait
            _ = answerer.workspace.vectors
        finally:
            gc.freeze()
            gc.enable()
        self._report_state()

    @Slot(object)
    def use_model(self, choice: ModelChoice) -> None:
        try:
            self._load(Path(choice.path), force=choice.force)
        except Exception as exc:
            self._report_problem("model", exc)
        self._report_state()

    @Slot(object)
    @reported("settings")
    def apply_settings(self, settings: HearthSettings) -> None:
        self._settings = settings
        if self._answerer is None:
            return
        path = self._answerer.model_path
        if path is not None:
            reloading = f"Applying settings to {path.name}…"
            self.status.emit(EngineStatus(EnginePhase.LOADING_MODEL, reloading, self._model()))
        try:
            self._answerer.apply_settings(settings)
        finally:
            self._report_state()

    @Slot(object)
    def ask(self, request: AskRequest) -> None:
        conversation_id = request.conversation_id
        answer_id = -1
        try:
            answerer = self._ready_answerer()
            for message_id in request.replace:
                answerer.conversations.delete_message(message_id)
            asked = time.monotonic()
            pending: list[str] = []
            sent_at = 0.0
            events = answerer.ask(
                request.question, conversation_id=conversation_id, rag=request.rag,
                document_ids=list(request.document_ids) if request.document_ids is not None else None,
                task=request.task,
            )
            for event in events:
                if self._stopped_at > asked:
                    answerer.cancel()  # repeated per token: a cancel sent before generation began is reset
                if isinstance(event, AnswerToken):
                    pending.append(event.text)
                    if time.monotonic() - sent_at >= PIECE_INTERVAL_S:
                        self.piece.emit(AnswerPiece(answer_id=answer_id, text="".join(pending)))
                        pending.clear()
                        sent_at = time.monotonic()
                elif isinstance(event, AnswerStarted):
                    conversation_id, answer_id = event.conversation_id, event.answer_id
                    self.began.emit(AnswerBegan(
                        conversation_id=event.conversation_id, question_id=event.question_id,
                        answer_id=event.answer_id, passages=event.passages,
                    ))
                elif isinstance(event, AnswerProgress):
                    self.progress.emit(event.progress)
                elif isinstance(event, AnswerFinished):
                    if pending:
                        self.piece.emit(AnswerPiece(answer_id=answer_id, text="".join(pending)))
                    self.done.emit(AnswerDone(event.message))
        except Exception as exc:
            if not isinstance(exc, HearthError):
                log.exception("answering failed")
            self.failed.emit(AnswerFailed(conversation_id=conversation_id, reason=describe(exc)))
        self._report_state()

    @Slot()
    def close(self) -> None:
        try:
            if self._answerer is not None:
                self._answerer.host.close()
                self._answerer.conversations.close()
                self._answerer.workspace.close()
        except Exception:
            log.exception("closing the engine")
        finally:
            quit_current_thread()

    # -- helpers --------------------------------------------------------------------------------
    def _open(self) -> Answerer:
        """The stores and the model host, created on first use in this thread."""
        if self._answerer is None:
            workspace = Workspace(
                self._data_dir, settings=self._settings, models_dir=self._models_dir, exclusive=True
            )
            store = ConversationStore(self._data_dir / CONVERSATIONS_DB)
            self._answerer = Answerer(workspace, store, ModelHost(data_dir=self._data_dir))
        return self._answerer

    def _load_default_model(self, answerer: Answerer) -> None:
        try:
            self._autoload(answerer)
        except Exception as exc:  # no model, a damaged one, or one that crashed last time: say so
            self._report_problem("model", exc)

    def _autoload(self, answerer: Answerer) -> None:
        path = answerer.model_path or default_model_path(answerer.workspace)
        self.status.emit(EngineStatus(EnginePhase.LOADING_MODEL, f"Loading {path.name}…"))
        answerer.autoload()

    def _load(self, path: Path, *, force: bool) -> None:
        self.status.emit(EngineStatus(EnginePhase.LOADING_MODEL, f"Loading {path.name}…"))
        self._open().use_model(path, force=force)

    def _ready_answerer(self) -> Answerer:
        """The answerer with a model loaded (the default one if none was chosen yet)."""
        answerer = self._open()
        if answerer.host.info is None:
            self._autoload(answerer)
        return answerer

    def _model(self) -> ModelInfo | None:
        return self._answerer.host.info if self._answerer is not None else None

    def _report_state(self) -> None:
        answerer = self._answerer
        info = answerer.host.info if answerer is not None else None
        if info is not None:
            self.status.emit(EngineStatus(EnginePhase.READY, f"{info.name} ready", info))
        elif answerer is not None and answerer.host.state == HostState.CRASHED:
            self.status.emit(EngineStatus(
                EnginePhase.NO_MODEL, "The model stopped; it restarts with the next question"
            ))
        else:
            self.status.emit(EngineStatus(EnginePhase.NO_MODEL, "No model loaded"))

    def _report_problem(self, source: str, exc: Exception) -> None:
        if not isinstance(exc, HearthError):
            log.exception("%s failed", source)
        self.problem.emit(Problem(source, describe(exc)))
