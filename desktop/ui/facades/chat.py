"""The chat: the current conversation, the answer being written, and the conversation list."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QObject

from desktop.core.document_task import DocumentTask, TaskProgress
from desktop.core.types import Approval, Passage
from desktop.services.agent import PendingCall, ToolCallFinished, ToolCallStarted
from desktop.services.answering import AnswerFinished, AnswerStarted, AnswerToken
from desktop.workers.engine import EngineWorker
from desktop.workers.events import (
    AnswerFailed,
    AskRequest,
    ConversationContent,
    ConversationList,
    ExportRequest,
    Problem,
    RenameRequest,
)
from desktop.workers.store import StoreWorker
from desktop.workers.typed import carrying, link, relay


class AnswerState(StrEnum):
    IDLE = "idle"
    ANSWERING = "answering"
    STOPPING = "stopping"  # Stop was pressed; the engine finishes the token it is on and saves


class ChatFacade(QObject):
    conversations = carrying(ConversationList)
    opened = carrying(ConversationContent)
    deleted = carrying(int)
    began = carrying(AnswerStarted)
    piece = carrying(AnswerToken)
    done = carrying(AnswerFinished)
    failed = carrying(AnswerFailed)
    progress = carrying(TaskProgress)  # how far a whole-document task is
    toolStarted = carrying(ToolCallStarted)  # agent mode: a call chosen, then finished
    toolFinished = carrying(ToolCallFinished)
    documentRequested = carrying(Passage)  # a tool opened a document: shown as a citation click shows it
    approvalNeeded = carrying(PendingCall)  # answer with decide()
    stateChanged = carrying(AnswerState)
    problem = carrying(Problem)
    exported = carrying(Path)

    _ask = carrying(AskRequest)
    _list = carrying(str)
    _open = carrying(int)
    _rename = carrying(RenameRequest)
    _delete = carrying(int)
    _export = carrying(ExportRequest)

    def __init__(self, engine: EngineWorker, store: StoreWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self.current: int | None = None  # the conversation shown; None for a new chat
        self.state = AnswerState.IDLE
        self.scope: tuple[int, ...] | None = None  # the documents questions are asked over; None: all
        self.search = ""
        link(self, _ask=engine.ask)
        link(self, _list=store.list_conversations, _open=store.open_conversation,
             _rename=store.rename_conversation, _delete=store.delete_conversation,
             _export=store.export_conversation)
        link(engine, began=self._on_began, done=self._on_done, failed=self._on_failed,
             toolFinished=self._on_tool_finished)
        link(store, conversations=self._on_conversations)
        for source, name in ((engine, "piece"), (engine, "progress"), (engine, "toolStarted"),
                             (engine, "approvalNeeded"), (store, "opened"),
                             (store, "deleted"), (store, "exported")):
            relay(source, name, self, name)

    @property
    def streaming(self) -> bool:
        return self.state is not AnswerState.IDLE

    # -- asking -----------------------------------------------------------------------------------
    def ask(self, question: str, *, rag: bool = True, agent: bool = False) -> bool:
        """Send a question in the current conversation; False while another answer is being written.
        ``agent``: the assistant may call tools first (it always answers from the files then)."""
        if not question.strip():
            return False
        return self._send(AskRequest(question=question, conversation_id=self.current, document_ids=self.scope,
                                     rag=rag or agent, agent=agent))

    def decide(self, decision: Approval) -> None:
        """The person's answer to ``approvalNeeded``; thread-safe, it must not wait behind the engine."""
        self._engine.decide_tool_call(decision)

    def regenerate(self, question: str, *, rag: bool = True) -> bool:
        """Ask the current conversation's last ``question`` again, in place of its answer."""
        return self._send(AskRequest(question=question, conversation_id=self.current, document_ids=self.scope,
                                     rag=rag, regenerate=True))

    def run_task(self, task: DocumentTask) -> bool:
        """Run a whole-document task in the current conversation, asked there in words."""
        return self._send(AskRequest(question=task.request(), conversation_id=self.current, task=task))

    def stop(self) -> None:
        if self.state is AnswerState.ANSWERING:
            self._set_state(AnswerState.STOPPING)
            self._engine.stop_answer()  # thread-safe: it must not wait behind the answer it stops

    def _send(self, request: AskRequest) -> bool:
        if self.streaming:
            return False
        self._set_state(AnswerState.ANSWERING)
        self._ask.emit(request)
        return True

    # -- conversations ----------------------------------------------------------------------------
    def new_chat(self) -> None:
        self.current = None

    def open(self, conversation_id: int) -> None:
        self.current = conversation_id
        self._open.emit(conversation_id)

    def find(self, text: str) -> None:
        """List the conversations whose title or messages hold ``text``."""
        self.search = text
        self._list.emit(text)

    def rename(self, conversation_id: int, title: str) -> None:
        self._rename.emit(RenameRequest(conversation_id=conversation_id, title=title))

    def delete(self, conversation_id: int) -> None:
        if self.streaming and conversation_id == self.current:
            self.problem.emit(Problem("chat", "Stop the answer being written before deleting this conversation."))
            return
        if conversation_id == self.current:
            self.current = None
        self._delete.emit(conversation_id)

    def export(self, conversation_id: int, target: Path, format: str) -> None:
        self._export.emit(ExportRequest(
            conversation_id=conversation_id, target=target, format="json" if format == "json" else "markdown"
        ))

    def set_scope(self, document_ids: tuple[int, ...] | None) -> None:
        self.scope = document_ids

    # -- results ----------------------------------------------------------------------------------
    def _on_began(self, began: AnswerStarted) -> None:
        if self.current is None:
            self.current = began.conversation_id
            self._list.emit(self.search)  # the new chat appears in the list
        self.began.emit(began)

    def _on_done(self, done: AnswerFinished) -> None:
        self._set_state(AnswerState.IDLE)
        self._list.emit(self.search)  # its title and order change
        self.done.emit(done)

    def _on_failed(self, failed: AnswerFailed) -> None:
        self._set_state(AnswerState.IDLE)
        if self.current is None and failed.conversation_id is not None:
            self.current = failed.conversation_id
        self._list.emit(self.search)
        self.failed.emit(failed)

    def _on_tool_finished(self, finished: ToolCallFinished) -> None:
        self.toolFinished.emit(finished)
        if finished.opens is not None:
            self.documentRequested.emit(finished.opens)

    def _on_conversations(self, listing: ConversationList) -> None:
        if listing.search == self.search:  # an answer to an older search is dropped
            self.conversations.emit(listing)

    def _set_state(self, state: AnswerState) -> None:
        if state is not self.state:
            self.state = state
            self.stateChanged.emit(state)
