"""Answer a question: retrieve, build a prompt that fits, stream the model's answer, cite, save.

Events are plain data, so the same generator serves the CLI and the window's worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from desktop.core.errors import ModelError, UsageError
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.core.types import Frozen, Message, MessageStatus, Passage, SearchHit, Timings
from desktop.llm.crash_marks import crashed_models
from desktop.llm.host import GenerationResult, HostState, ModelHost, TokenEvent
from desktop.services.citations import resolve
from desktop.services.conversations import ConversationStore
from desktop.services.library import answer_library_question
from desktop.services.models import default_model_path
from desktop.services.prompting import build_prompt
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace

SAVE_EVERY_S = 0.5  # a crash mid-answer loses at most this much of what was shown


class AnswerStarted(Frozen):
    conversation_id: int
    question_id: int
    answer_id: int
    passages: tuple[Passage, ...] = ()


class AnswerToken(Frozen):
    text: str


class AnswerFinished(Frozen):
    message: Message


AnswerEvent = AnswerStarted | AnswerToken | AnswerFinished


def to_passages(hits: Sequence[SearchHit]) -> list[Passage]:
    return [
        Passage(
            n=n, chunk_id=h.chunk_id, document_id=h.document_id, path=h.path, page=h.page, heading=h.heading,
            text=h.text, score=h.score, start=h.start, end=h.end,
        )
        for n, h in enumerate(hits, start=1)
    ]


class Answerer:
    def __init__(self, workspace: Workspace, conversations: ConversationStore, host: ModelHost) -> None:
        self.workspace = workspace
        self.conversations = conversations
        self.host = host
        self.model_path: Path | None = None

    def use_model(self, path: Path | None = None, *, force: bool = False) -> None:
        """Load a model (the default when None) unless it is already loaded and healthy."""
        path = Path(path or self.model_path or default_model_path(self.workspace))
        info = self.host.info
        loaded = info is not None and Path(info.path) == path
        if not (loaded and self.host.state in (HostState.READY, HostState.BUSY)):
            generation = self.workspace.settings.generation_for(path.name)
            self.host.load(path, generation, force=force, models_dir=self.workspace.models_dir)
        self.model_path = path

    def apply_settings(self, settings: HearthSettings) -> None:
        """Use new settings; a loaded model is reloaded only if its context, threads or LoRA changed."""
        self.workspace.settings = settings
        if self.model_path is not None and self.host.state == HostState.READY:
            generation = settings.generation_for(self.model_path.name)
            self.host.load(self.model_path, generation, models_dir=self.workspace.models_dir)

    def autoload(self) -> None:
        """Load the default model at start-up, unless it crashed the model host while loading last
        time: then say so and let the person choose it again, instead of crashing again."""
        path = Path(self.model_path or default_model_path(self.workspace))
        if str(path.resolve()) in crashed_models(self.workspace.data_dir):
            raise ModelError(
                f"{path.name} crashed while loading last time, so it was not loaded automatically. "
                "Choose it in Models to try again."
            )
        self.use_model(path)

    def generation(self) -> GenerationSettings:
        assert self.model_path is not None
        return self.workspace.settings.generation_for(self.model_path.name)

    def cancel(self) -> None:
        self.host.cancel()

    def ask(
        self,
        question: str,
        *,
        conversation_id: int | None = None,
        rag: bool = True,
        document_ids: Sequence[int] | None = None,
    ) -> Iterator[AnswerEvent]:
        question = question.strip()
        if not question:
            raise UsageError("The question is empty.")
        # Everything that can refuse the question runs before anything is written.
        history = self.conversations.messages(conversation_id) if conversation_id is not None else []
        started = time.perf_counter()
        library = answer_library_question(question, self.workspace) if rag else None
        if library is None:
            self.use_model()
        if conversation_id is None:
            conversation_id = self.conversations.create().id
        asked = self.conversations.add_user_message(conversation_id, question)
        model_name = None if library else (self.host.info.name if self.host.info else None)
        answer_id = self.conversations.start_answer(conversation_id, model_name)

        if library is not None:
            yield AnswerStarted(conversation_id=conversation_id, question_id=asked.id, answer_id=answer_id)
            yield AnswerToken(text=library.text)
            message = self.conversations.finish_answer(
                answer_id, text=library.text, status=MessageStatus.COMPLETE, citations=library.citations,
                timings=Timings(total_ms=(time.perf_counter() - started) * 1000),
                notes=["answered from the library's records"],
            )
            yield AnswerFinished(message=message)
            return

        hits = Retriever(self.workspace).search(question, document_ids=document_ids) if rag else []
        retrieval_ms = (time.perf_counter() - started) * 1000
        generation = self.generation()
        plan = build_prompt(
            question=question, passages=to_passages(hits), history=history, generation=generation,
            context_length=self.host.context_length or generation.context_length,
            render=self.host.render_prompt, count=self.host.count_tokens, grounded=rag,
        )
        plan.notes.extend(self.host.take_template_notices())
        yield AnswerStarted(
            conversation_id=conversation_id, question_id=asked.id, answer_id=answer_id,
            passages=tuple(plan.passages),
        )
        yield from self._stream(answer_id, plan.prompt, plan.passages, plan.notes, generation, retrieval_ms, started)

    def _stream(
        self,
        answer_id: int,
        prompt: str,
        passages: list[Passage],
        notes: list[str],
        generation: GenerationSettings,
        retrieval_ms: float,
        started: float,
    ) -> Iterator[AnswerEvent]:
        pieces: list[str] = []
        last_save = time.monotonic()
        result: GenerationResult | None = None
        try:
            for event in self.host.generate(prompt, generation):
                if isinstance(event, TokenEvent):
                    pieces.append(event.text)
                    yield AnswerToken(text=event.text)
                    if time.monotonic() - last_save > SAVE_EVERY_S:
                        self.conversations.save_partial(answer_id, "".join(pieces))
                        last_save = time.monotonic()
                else:
                    result = event
        except ModelError:
            self.conversations.finish_answer(
                answer_id, text="".join(pieces), status=MessageStatus.INTERRUPTED, passages=passages,
                notes=[*notes, "the model stopped unexpectedly"],
            )
            raise
        text, citations, marked, removed = resolve("".join(pieces), passages)
        if removed:  # the answer was shown as written: say why the saved one differs
            listed = ", ".join(f"[{n}]" for n in removed)
            notes = [*notes, f"removed citations naming no passage the model was shown: {listed}"]
        status = MessageStatus.STOPPED if result is not None and result.stopped else MessageStatus.COMPLETE
        timings = Timings(
            retrieval_ms=retrieval_ms,
            prompt_tokens=result.prompt_tokens if result else 0,
            time_to_first_token_ms=result.time_to_first_token_ms if result else None,
            generated_tokens=result.generated_tokens if result else 0,
            tokens_per_second=result.tokens_per_second if result else None,
            total_ms=(time.perf_counter() - started) * 1000,
        )
        message = self.conversations.finish_answer(
            answer_id, text=text, status=status, citations=citations, passages=marked, timings=timings,
            notes=notes,
        )
        yield AnswerFinished(message=message)
