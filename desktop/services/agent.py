"""An assistant that acts: the model calls tools, step by step, then answers from what they returned.

Each step the model writes one call under a JSON grammar (``tools/steps.py``), so the default tiny
model's calls are always well-formed; the call is still checked (tool, argument types, bounds)
and a bad one costs a step and a short error the model reads, never a crash. A tool that writes
(``create_note``) runs only once approved: by the person in the window, for one call or for the
chat, or by ``hearth ask --agent --approve``; a rejection or a timeout is told to the model.

The loop ends when the model says "answer", after ``tools.max_steps`` calls, when the model repeats
a call it made already, or at Stop (checked before and after every step; a step in progress ends
within about a token). The answer then goes through the ordinary answer path: what the tools
returned (passages, and each other result as a "tool:" source) is the prompt's sources, and every
sentence is checked and cited against them. Every call is saved with the answer as it ends.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from desktop.core.errors import HearthError, ModelError, UsageError
from desktop.core.settings import GenerationSettings
from desktop.core.types import Approval, Frozen, Message, MessageStatus, Passage, ToolCallRecord
from desktop.llm.host import GenerationResult
from desktop.services.answering import Answerer, AnswerEvent, AnswerFinished, AnswerStarted, to_passages
from desktop.services.retrieval import Retriever
from desktop.services.tools.dates import Clock
from desktop.services.tools.library_access import Library
from desktop.services.tools.steps import step_messages, step_schema
from desktop.services.tools.toolbox import (
    ANSWER,
    MAX_CALL_CHARS,
    TOOLS,
    CallError,
    ToolCall,
    ToolContext,
    parse_call,
    run_call,
    tool_source,
)

log = logging.getLogger(__name__)

STEP_MAX_TOKENS = 384  # one call: long enough for a note of a few sentences
MAX_SOURCES = 12  # passages the answer is given (the prompt keeps what fits)
SHORT_RESULT = 300  # characters an old result keeps when the steps no longer fit the context
NOTES_FOLDER = "notes"

EndReason = Literal["answer", "max_steps", "repeated", "stopped"]


class ToolCallStarted(Frozen):
    """The model chose a call; a writing tool now waits for approval."""

    answer_id: int
    step: int
    tool: str
    arguments: dict[str, Any]
    writes: bool


class ToolCallFinished(Frozen):
    answer_id: int
    record: ToolCallRecord
    opens: Passage | None = None  # open_in_viewer's document: the window shows it as a citation click would


class ToolsDone(Frozen):
    """The tool steps are over; the answer follows."""

    answer_id: int
    reason: EndReason
    outputs: int  # steps the model wrote (its calls, plus "answer" if it chose to)
    invalid: int  # outputs that were not a valid call


AgentEvent = AnswerEvent | ToolCallStarted | ToolCallFinished | ToolsDone


class PendingCall(Frozen):
    """A writing call waiting for the person's decision."""

    conversation_id: int
    answer_id: int
    step: int
    tool: str
    arguments: dict[str, Any]


Approver = Callable[[PendingCall], Approval]


def refuse_writes(call: PendingCall) -> Approval:
    return Approval.REFUSED


def approve_writes(call: PendingCall) -> Approval:
    return Approval.COMMAND_LINE


def notes_folder(answerer: Answerer) -> Path:
    configured = answerer.workspace.settings.tools.notes_folder
    return Path(configured) if configured else answerer.workspace.data_dir / NOTES_FOLDER


class Agent:
    """Answers with tools, using an Answerer's model, library and conversations. Keep one per chat
    window: calls allowed "for this chat" are remembered here."""

    def __init__(self, answerer: Answerer, *, approve: Approver = refuse_writes, today: Clock = dt.date.today) -> None:
        self.answerer = answerer
        self.approve = approve
        self.today = today
        self.allowed: set[tuple[int, str]] = set()  # (conversation, tool) the person allowed for the chat
        self._stop = threading.Event()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        """From any thread: the current step (or the answer) ends within about a token."""
        self._stop.set()
        self.answerer.cancel()

    def ask(
        self, question: str, *, conversation_id: int | None = None, document_ids: Sequence[int] | None = None
    ) -> Iterator[AgentEvent]:
        question = question.strip()
        if not question:
            raise UsageError("The question is empty.")
        self._stop.clear()
        answerer, conversations = self.answerer, self.answerer.conversations
        history = conversations.messages(conversation_id) if conversation_id is not None else []
        started = time.perf_counter()
        answerer.use_model()
        if conversation_id is None:
            conversation_id = conversations.create().id
        asked = conversations.add_user_message(conversation_id, question)
        answer_id = conversations.start_answer(conversation_id, answerer.host.info.name if answerer.host.info else None)
        yield AnswerStarted(conversation_id=conversation_id, question_id=asked.id, answer_id=answer_id)
        context = ToolContext(Library(answerer.workspace, document_ids), notes_folder(answerer), self.today)
        run = _Run(conversation_id, answer_id)
        try:
            yield from self._steps(question, context, run)
        except ModelError:
            conversations.finish_answer(
                answer_id, text="", status=MessageStatus.INTERRUPTED, notes=["the model stopped unexpectedly"]
            )
            raise
        if run.reason == "stopped":
            message = conversations.finish_answer(
                answer_id, text="", status=MessageStatus.STOPPED,
                notes=[f"stopped after {len(run.records)} tool call(s)"],
            )
            yield AnswerFinished(message=message)
            return
        yield from self._answer(question, history, document_ids, run, started)

    # -- the steps --------------------------------------------------------------------------------
    def _steps(self, question: str, context: ToolContext, run: _Run) -> Iterator[AgentEvent]:
        max_steps = self.answerer.workspace.settings.tools.max_steps
        generation = self.answerer.generation().model_copy(update={"max_tokens": STEP_MAX_TOKENS})
        schema = step_schema()
        seen: set[str] = set()
        run.reason = "max_steps"
        for step in range(1, max_steps + 1):
            if self.stopped:
                run.reason = "stopped"
                break
            text, cut = self._write_call(question, run.records, max_steps, generation, schema)
            if self.stopped:
                run.reason = "stopped"
                break
            run.outputs += 1
            parsed = (
                CallError(tool="?", arguments={"raw": text[:200]}, message="the call was cut short: keep it shorter")
                if cut else parse_call(text)
            )
            if isinstance(parsed, ToolCall) and parsed.tool == ANSWER:
                run.reason = "answer"
                break
            key = json.dumps([parsed.tool, parsed.arguments], sort_keys=True, default=str)
            if key in seen:
                run.reason = "repeated"
                break
            seen.add(key)
            writes = isinstance(parsed, ToolCall) and TOOLS[parsed.tool].writes
            yield ToolCallStarted(
                answer_id=run.answer_id, step=step, tool=parsed.tool, arguments=parsed.arguments, writes=writes
            )
            record, opens = self._call(parsed, step, context, run)
            run.records.append(record)
            self.answerer.conversations.save_tool_calls(run.answer_id, run.records)
            yield ToolCallFinished(answer_id=run.answer_id, record=record, opens=opens)
        yield ToolsDone(
            answer_id=run.answer_id, reason=run.reason, outputs=run.outputs,
            invalid=sum(1 for r in run.records if r.approval == Approval.INVALID),
        )

    def _write_call(
        self, question: str, done: list[ToolCallRecord], max_steps: int, generation: GenerationSettings, schema: str
    ) -> tuple[str, bool]:
        """The model's next call as text, and whether it was cut short (by its length or a stop)."""
        host = self.answerer.host
        prompt = self._fitted_prompt(question, done, max_steps)
        pieces: list[str] = []
        size = 0
        result: GenerationResult | None = None
        for event in host.generate(prompt, generation, json_schema=schema):
            if isinstance(event, GenerationResult):
                result = event
            elif size <= MAX_CALL_CHARS:  # beyond it the call is refused anyway: stop the model, keep nothing more
                pieces.append(event.text)
                size += len(event.text)
                if size > MAX_CALL_CHARS:
                    host.cancel()
        text = "".join(pieces)
        cut = result is None or result.finish_reason != "stop"
        return text, cut and len(text) <= MAX_CALL_CHARS

    def _fitted_prompt(self, question: str, done: list[ToolCallRecord], max_steps: int) -> str:
        """The step prompt; old results are shortened, oldest first, until it fits the context."""
        host = self.answerer.host
        room = (host.context_length or self.answerer.generation().context_length) - STEP_MAX_TOKENS - 32
        shown = list(done)
        while True:
            prompt = host.render_prompt(step_messages(question, shown, max_steps))
            long = [i for i, r in enumerate(shown) if len(r.result) > SHORT_RESULT]
            if host.count_tokens([prompt])[0] <= room or not long:
                return prompt
            record = shown[long[0]]
            shown[long[0]] = record.model_copy(update={"result": record.result[:SHORT_RESULT] + "… (cut to fit)"})

    def _call(
        self, parsed: ToolCall | CallError, step: int, context: ToolContext, run: _Run
    ) -> tuple[ToolCallRecord, Passage | None]:
        """The call's record, and the document it opens for the user (open_in_viewer)."""
        began = time.time()

        def record(result: str, ok: bool, approval: Approval) -> ToolCallRecord:
            return ToolCallRecord(
                step=step, tool=parsed.tool, arguments=parsed.arguments, result=result, ok=ok, approval=approval,
                started_at=began, finished_at=time.time(),
            )

        if isinstance(parsed, CallError):
            return record(f"error: {parsed.message}", False, Approval.INVALID), None
        approval = self._approval(parsed, step, run)
        if not approval.allows:
            return record(f"error: {parsed.tool} was not run ({approval.value})", False, approval), None
        try:
            output = run_call(parsed, context)
        except HearthError as exc:
            return record(f"error: {exc}", False, approval), None
        except Exception:  # a tool's bug must not end the answer; the log has it
            log.exception("tool %s failed", parsed.tool)
            return record(f"error: {parsed.tool} failed unexpectedly", False, approval), None
        run.sources.extend(output.passages)
        if output.is_source:
            run.sources.append(tool_source(parsed, output))
        return record(output.text, True, approval), output.opens

    def _approval(self, call: ToolCall, step: int, run: _Run) -> Approval:
        if not TOOLS[call.tool].writes:
            return Approval.NOT_NEEDED
        if (run.conversation_id, call.tool) in self.allowed:
            return Approval.USER_FOR_CHAT
        decision = self.approve(PendingCall(
            conversation_id=run.conversation_id, answer_id=run.answer_id, step=step, tool=call.tool,
            arguments=call.arguments,
        ))
        if self.stopped:  # Stop while the card waited: nothing is written
            return Approval.REJECTED
        if decision == Approval.USER_FOR_CHAT:
            self.allowed.add((run.conversation_id, call.tool))
        return decision

    # -- the answer -------------------------------------------------------------------------------
    def _answer(
        self, question: str, history: list[Message], document_ids: Sequence[int] | None, run: _Run, started: float
    ) -> Iterator[AgentEvent]:
        notes = [_ending(run)]
        sources = list(run.sources)
        retrieval_ms = 0.0
        if not any(p.chunk_id >= 0 for p in sources):
            # No tool read the library: the question is searched as an ordinary one would be, so the
            # answer is grounded in the files even when the model chose its tools badly.
            began = time.perf_counter()
            sources += to_passages(Retriever(self.answerer.workspace).search(question, document_ids=document_ids))
            retrieval_ms = (time.perf_counter() - began) * 1000
            notes.append("no tool read your files, so the question itself was searched")
        passages = _numbered(sources)
        plan = self.answerer.plan(question, passages, history)
        plan.notes[:0] = notes
        yield from self.answerer.stream(run.answer_id, question, plan, retrieval_ms, started)


class _Run:
    """What one question's steps have done so far."""

    def __init__(self, conversation_id: int, answer_id: int) -> None:
        self.conversation_id = conversation_id
        self.answer_id = answer_id
        self.records: list[ToolCallRecord] = []
        self.sources: list[Passage] = []
        self.outputs = 0
        self.reason: EndReason = "max_steps"


def _numbered(sources: Sequence[Passage]) -> list[Passage]:
    """Each passage once (a passage found twice keeps its first place), numbered for citing."""
    unique: dict[tuple[int, str], Passage] = {}
    for passage in sources:
        key = (passage.chunk_id, passage.text if passage.chunk_id < 0 else "")
        unique.setdefault(key, passage)
    return [p.model_copy(update={"n": n}) for n, p in enumerate(list(unique.values())[:MAX_SOURCES], start=1)]


def _ending(run: _Run) -> str:
    calls = f"{len(run.records)} tool call(s)"
    return {
        "answer": f"answered after {calls}",
        "max_steps": f"answered after {calls}: the most allowed",
        "repeated": f"answered after {calls}: the model repeated a call it had made",
        "stopped": f"stopped after {calls}",
    }[run.reason]

