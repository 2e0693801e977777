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
from typing import Any

from PySide6.QtCore import QObject, Slot

from desktop.core.backends import model_place
from desktop.core.document_task import TaskProgress
from desktop.core.errors import HearthError
from desktop.core.model_info import ModelInfo
from desktop.core.settings import HearthSettings
from desktop.core.types import Approval
from desktop.llm.host import HostState
from desktop.services.agent import Agent, PendingCall, ToolCallFinished, ToolCallStarted
from desktop.services.answering import Answerer, AnswerFinished, AnswerProgress, AnswerStarted, AnswerToken
from desktop.services.approvals import WaitingApprover
from desktop.services.home import Home
from desktop.workers.errors import describe, reported
from desktop.workers.events import (
    AnswerFailed,
    AskRequest,
    EnginePhase,
    EngineStatus,
    ModelChoice,
    Problem,
)
from desktop.workers.threads import quit_current_thread
from desktop.workers.typed import carrying

log = logging.getLogger("hearth.engine")



class EngineWorker(QObject):
    status = carrying(EngineStatus)
    began = carrying(AnswerStarted)
    piece = carrying(AnswerToken)  # the model host already gathers tokens into pieces
    done = carrying(AnswerFinished)
    failed = carrying(AnswerFailed)
    problem = carrying(Problem)
    progress = carrying(TaskProgress)  # how far a whole-document task is
    toolStarted = carrying(ToolCallStarted)  # the assistant chose a call (agent mode)
    toolFinished = carrying(ToolCallFinished)
    approvalNeeded = carrying(PendingCall)  # a writing call waits for decide_tool_call

    def __init__(self, home: Home, *, preload: bool = True) -> None:
        super().__init__()
        self._home = home
        self._preload = preload
        self._answerer: Answerer | None = None
        self._host_place: dict[str, Any] = {}  # the backend settings the answerer's host was made for
        self._agent: Agent | None = None
        self._approver = WaitingApprover(lambda: home.settings.value.tools.approval_timeout_s, self.approvalNeeded.emit)
        self._stopped_at = 0.0  # a float store is atomic: safe to write from the GUI thread

    # -- called from the GUI thread ---------------------------------------------------------
    def stop_answer(self) -> None:
        """Stop the answer being generated (or about to be) within about one token."""
        self._stopped_at = time.monotonic()
        answerer, agent = self._answerer, self._agent
        if agent is not None:
            agent.cancel()
        self._approver.cancel()  # a call waiting for approval is rejected
        if answerer is not None:
            answerer.cancel()

    def decide_tool_call(self, decision: Approval) -> None:
        """The person's answer to ``approvalNeeded``: USER, USER_FOR_CHAT or REJECTED (thread-safe)."""
        self._approver.decide(decision)

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
        # (While a window is open, the GUI thread collects and automatic collection is already off.)
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._load_default_model(answerer)
            self.status.emit(EngineStatus(EnginePhase.LOADING_EMBEDDER, "Preparing search…", self._model()))
            answerer.workspace.embedder.embed(["warm up"])  # loaded now, so the first question does not wait
            answerer.workspace.vectors.count()  # opened now (with a vector host, its process starts now)
        finally:
            gc.freeze()
            if collecting:
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
        """The live settings already changed; a loaded model may need them (context, threads, LoRA), and
        a model moved to or from a server needs another host."""
        if self._answerer is None:
            return
        if model_place(settings.backends) != self._host_place:
            self._switch_host(self._answerer)
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
        try:
            answerer = self._ready_answerer()
            asked = time.monotonic()
            scope = list(request.document_ids) if request.document_ids is not None else None
            cancel = answerer.cancel
            if request.agent:
                if self._agent is None or self._agent.answerer is not answerer:
                    self._agent = Agent(answerer, approve=self._approver)
                cancel = self._agent.cancel
                events = self._agent.ask(request.question, conversation_id=conversation_id, document_ids=scope)
            elif request.regenerate and conversation_id is not None:
                events = answerer.regenerate(conversation_id, rag=request.rag, document_ids=scope)
            else:
                events = answerer.ask(
                    request.question, conversation_id=conversation_id, rag=request.rag, document_ids=scope,
                    task=request.task,
                )
            for event in events:
                if self._stopped_at > asked:
                    cancel()  # repeated per token: a cancel sent before generation began is reset
                if isinstance(event, AnswerStarted):
                    conversation_id = event.conversation_id
                    self.began.emit(event)
                elif isinstance(event, AnswerProgress):
                    self.progress.emit(event.progress)
                elif isinstance(event, AnswerFinished):
                    self.done.emit(event)
                elif isinstance(event, AnswerToken):
                    self.piece.emit(event)
                elif isinstance(event, ToolCallStarted):
                    self.toolStarted.emit(event)
                elif isinstance(event, ToolCallFinished):
                    self.toolFinished.emit(event)
        except Exception as exc:
            if not isinstance(exc, HearthError):
                log.exception("answering failed")
            self.failed.emit(AnswerFailed(conversation_id=conversation_id, reason=describe(exc)))
        self._report_state()

    @Slot()
    def close(self) -> None:
        try:
            if self._answerer is not None:
                self._answerer.close()
        except Exception:
            log.exception("closing the engine")
        finally:
            quit_current_thread()

    # -- helpers --------------------------------------------------------------------------------
    def _open(self) -> Answerer:
        """The stores and the model host, created on first use in this thread."""
        if self._answerer is None:
            self._host_place = model_place(self._home.settings.value.backends)
            self._answerer = self._home.answerer()
        return self._answerer

    def _switch_host(self, answerer: Answerer) -> None:
        """The settings name another model backend: the old host is closed, so nothing more goes to (or
        stays with) it; the new one is ready before the next question when the window preloads."""
        self._host_place = model_place(self._home.settings.value.backends)
        answerer.use_host(self._home.model_host())
        if self._preload:
            self._load_default_model(answerer)
        self._report_state()

    def _load_default_model(self, answerer: Answerer) -> None:
        try:
            self._autoload(answerer)
        except Exception as exc:  # no model, a damaged one, or one that crashed last time: say so
            self._report_problem("model", exc)

    def _autoload(self, answerer: Answerer) -> None:
        self.status.emit(EngineStatus(EnginePhase.LOADING_MODEL, answerer.loading_text()))
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
