"""Answer a question: retrieve, build a prompt that fits, stream the model's answer, check it, save.

Checks (``AnswerPipeline.checks``): when no passage is close enough to the question, Hearth says so
and lists the nearest passages instead of asking the model; the answer streams without the prompt's
syntax; every sentence is checked against the passages and cited by the one that supports it
(``attribution``); an answer mostly unsupported gets the passages' best sentences under it.

Events are plain data, so the same generator serves the CLI and the window's worker thread.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.document_task import DocumentTask, TaskProgress
from desktop.core.errors import HearthError, ModelError, UsageError
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.core.types import (
    AnswerSetup,
    Citation,
    Excerpt,
    Frozen,
    Message,
    MessageStatus,
    Passage,
    SearchHit,
    SentenceSupport,
    Timings,
)
from desktop.llm.crash_marks import crashed_models
from desktop.llm.host import GenerationResult, HostState
from desktop.llm.openai_host import AnswerHost, OpenAIHost
from desktop.services import attribution
from desktop.services.citations import resolve
from desktop.services.conversations import NOT_COVERED_NOTE, ConversationStore
from desktop.services.document_requests import document_request
from desktop.services.document_results import result_markdown
from desktop.services.document_tasks import DocumentWork, TaskResult
from desktop.services.drafts import choice_note, draft_settings, support_rank
from desktop.services.library import answer_library_question
from desktop.services.models import default_model_path
from desktop.services.prompting import (
    PromptPlan,
    SourceFormat,
    StopFilter,
    build_prompt,
    line_start_bans,
    stop_strings,
    strip_markup,
)
from desktop.services.repetition import RepetitionGuard
from desktop.services.retrieval import Retriever
from desktop.services.web_addresses import StreamedAddresses, remove_invented, without_leftovers
from desktop.services.workspace import Workspace

SAVE_EVERY_S = 0.5  # a crash mid-answer loses at most this much of what was shown
NEAREST_SHOWN = 3  # passages listed when the files do not seem to cover the question
NOT_COVERED = "Your files do not seem to cover this question, so Hearth did not ask the model to answer it."


class AnswerPipeline(Frozen):
    """How grounded answers are made; ``hearth eval --answers`` compares variants (docs/answer-eval.md)."""

    source_format: SourceFormat = "tagged"
    # Refuse when retrieval is not confident, stop at the prompt's syntax, check every sentence.
    # Off only to measure what the model does alone.
    checks: bool = True
    drafts: int | None = None  # drafts of a grounded answer (desktop/services/drafts.py); None: as set


class AnswerStarted(Frozen):
    conversation_id: int
    question_id: int
    answer_id: int
    passages: tuple[Passage, ...] = ()


class AnswerToken(Frozen):
    answer_id: int
    text: str


class AnswerFinished(Frozen):
    message: Message


class AnswerProgress(Frozen):
    """How far a whole-document task is (only those take long enough to need it)."""

    answer_id: int
    progress: TaskProgress


AnswerEvent = AnswerStarted | AnswerToken | AnswerFinished | AnswerProgress


def to_passages(hits: Sequence[SearchHit]) -> list[Passage]:
    return [Passage.of_hit(hit, n) for n, hit in enumerate(hits, start=1)]


class Answerer:
    def __init__(
        self,
        workspace: Workspace,
        conversations: ConversationStore,
        host: AnswerHost,
        pipeline: AnswerPipeline | None = None,
    ) -> None:
        self.workspace = workspace
        self.conversations = conversations
        self.host = host
        self.pipeline = pipeline or AnswerPipeline()
        self.model_path: Path | None = None
        self._sentence_vectors: attribution.SentenceEmbeddings | None = None
        self._stopped = False  # set by cancel(); a document task checks it between its steps

    def use_model(self, path: Path | None = None, *, force: bool = False) -> None:
        """Load a model (the default when None) unless it is already loaded and healthy; with a model
        server, ask it which model it offers (so one that restarted is simply used again)."""
        if isinstance(self.host, OpenAIHost):
            if path is not None or self.model_path is not None:
                self.host.load()  # refuses: the model is the server's
            self.host.connect(self.workspace.settings.generation)
            return
        path = Path(path or self.model_path or default_model_path(self.workspace))
        info = self.host.info
        loaded = info is not None and Path(info.path) == path
        if not (loaded and self.host.state in (HostState.READY, HostState.BUSY)):
            generation = self.workspace.settings.generation_for(path.name)
            self.host.load(path, generation, force=force, models_dir=self.workspace.models_dir)
        self.model_path = path

    def loading_text(self) -> str:
        """What ``use_model()`` is about to do, for the status line."""
        if isinstance(self.host, OpenAIHost):
            return f"Connecting to {self.host.url}…"
        return f"Loading {Path(self.model_path or default_model_path(self.workspace)).name}…"

    def use_host(self, host: AnswerHost) -> None:
        """Answer with another model host from now on (the backends changed); the old one is closed."""
        old, self.host, self.model_path = self.host, host, None
        old.close()

    def apply_settings(self, settings: HearthSettings) -> None:
        """Use new settings; a loaded model is reloaded only if its context, threads or LoRA changed."""
        self.workspace.settings = settings
        if self.model_path is not None and self.host.state == HostState.READY:
            generation = settings.generation_for(self.model_path.name)
            self.host.load(self.model_path, generation, models_dir=self.workspace.models_dir)

    def autoload(self) -> None:
        """Load the default model at start-up, unless it crashed the model host while loading last
        time: then say so and let the person choose it again, instead of crashing again."""
        if isinstance(self.host, OpenAIHost):
            self.use_model()
            return
        path = Path(self.model_path or default_model_path(self.workspace))
        if str(path.resolve()) in crashed_models(self.workspace.data_dir):
            raise ModelError(
                f"{path.name} crashed while loading last time, so it was not loaded automatically. "
                "Choose it in Models to try again."
            )
        self.use_model(path)

    def generation(self) -> GenerationSettings:
        """The settings of the model in use: a model file's overrides, or a server model's by its name."""
        info = self.host.info
        name = self.model_path.name if self.model_path is not None else (info.name if info else "")
        return self.workspace.settings.generation_for(name)

    def setup(self) -> AnswerSetup:
        """The model, its settings and the index answering now (compared by ``hearth insights``)."""
        generation = self.generation().model_dump_json() if self.model_path is not None else ""
        return AnswerSetup(
            model=self.host.info.name if self.host.info else None,
            generation=hashlib.sha256(generation.encode()).hexdigest()[:12],
            index=self.workspace.registry.stamp(),
        )

    def cancel(self) -> None:
        self._stopped = True
        self.host.cancel()

    def sentence_embeddings(self) -> attribution.SentenceEmbeddings:
        """The workspace's embedder, remembering the sentences it embedded (until the embedder changes)."""
        embed = self.workspace.embedder.embed
        if self._sentence_vectors is None or self._sentence_vectors.embed != embed:
            self._sentence_vectors = attribution.SentenceEmbeddings(embed)
        return self._sentence_vectors

    def ask(
        self,
        question: str,
        *,
        conversation_id: int | None = None,
        rag: bool = True,
        document_ids: Sequence[int] | None = None,
        replacing: Sequence[int] = (),
        task: DocumentTask | None = None,
    ) -> Iterator[AnswerEvent]:
        """Answer ``question``; with ``task`` (or when the question asks for one, "summarise
        thesis.pdf"), run that whole-document task and answer with its result. ``replacing``: messages
        of the conversation this exchange takes the place of (see ``regenerate``)."""
        question = question.strip()
        if not question:
            raise UsageError("The question is empty.")
        self._stopped = False
        # Everything that can refuse the question runs before anything is written.
        history = self.conversations.messages(conversation_id) if conversation_id is not None else []
        history = [m for m in history if m.id not in replacing]
        started = time.perf_counter()
        task = task or (document_request(question, self.workspace) if rag else None)
        library = answer_library_question(question, self.workspace) if rag and task is None else None
        if library is None:
            self.use_model()
        if conversation_id is None:
            conversation_id = self.conversations.create().id
        asked = self.conversations.add_user_message(conversation_id, question)
        for message_id in replacing:  # only now: a question refused above keeps the old exchange
            self.conversations.delete_message(message_id)

        if task is not None:
            yield from self._document_task(task, conversation_id, asked.id, started)
            return

        if library is not None:
            answer_id = self.conversations.start_answer(conversation_id, None)
            yield AnswerStarted(conversation_id=conversation_id, question_id=asked.id, answer_id=answer_id)
            yield AnswerToken(answer_id=answer_id, text=library.text)
            message = self.conversations.finish_answer(
                answer_id, text=library.text, status=MessageStatus.COMPLETE, citations=library.citations,
                timings=Timings(total_ms=(time.perf_counter() - started) * 1000),
                notes=["answered from the library's records"],
            )
            yield AnswerFinished(message=message)
            return

        passages = to_passages(
            Retriever(self.workspace).search(question, self.generation().passages, document_ids=document_ids)
            if rag else []
        )
        retrieval_ms = (time.perf_counter() - started) * 1000
        confidence: float | None = None  # recorded with the answer: query drift compares it over time
        if rag and self.pipeline.checks:
            confidence = self._confidence(question, history, passages)
            if confidence < attribution.CONFIDENCE_THRESHOLD:
                yield from self._not_covered(conversation_id, asked.id, passages, confidence, retrieval_ms, started)
                return
        answer_id = self.conversations.start_answer(conversation_id, self.host.info.name if self.host.info else None)
        plan = self.plan(question, passages, history, grounded=rag)
        yield AnswerStarted(
            conversation_id=conversation_id, question_id=asked.id, answer_id=answer_id,
            passages=tuple(plan.passages),
        )
        yield from self.stream(answer_id, question, plan, retrieval_ms, started, confidence)

    def plan(
        self, question: str, passages: list[Passage], history: Sequence[Message], *, grounded: bool = True
    ) -> PromptPlan:
        """The answer's prompt, fitted to the loaded model's context."""
        generation = self.generation()
        plan = build_prompt(
            question=question, passages=passages, history=history, generation=generation,
            context_length=self.host.context_length or generation.context_length,
            render=self.host.render_prompt, count=self.host.count_tokens, grounded=grounded,
            source_format=self.pipeline.source_format,
        )
        plan.notes.extend(self.host.take_template_notices())
        return plan

    def stream(
        self, answer_id: int, question: str, plan: PromptPlan, retrieval_ms: float, started: float,
        confidence: float | None = None,
    ) -> Iterator[AnswerEvent]:
        """Stream the answer ``plan`` asks for, then check its sentences against its passages and save it."""
        yield from self._stream(
            answer_id, question, plan.prompt, plan.passages, plan.notes, self.generation(), retrieval_ms, started,
            confidence,
        )

    def regenerate(
        self, conversation_id: int, *, rag: bool = True, document_ids: Sequence[int] | None = None
    ) -> Iterator[AnswerEvent]:
        """Ask the conversation's last question again; the new exchange replaces the last one."""
        messages = self.conversations.messages(conversation_id)
        questions = [i for i, m in enumerate(messages) if m.role == "user"]
        if not questions:
            raise UsageError(f"Conversation {conversation_id} has no question to answer again.")
        last = questions[-1]
        yield from self.ask(
            messages[last].text, conversation_id=conversation_id, rag=rag, document_ids=document_ids,
            replacing=[m.id for m in messages[last:]],
        )

    def close(self) -> None:
        """Stop the model host and close the stores."""
        try:
            self.host.close()
        finally:
            self.conversations.close()
            self.workspace.close()

    def _document_task(
        self, task: DocumentTask, conversation_id: int, question_id: int, started: float
    ) -> Iterator[AnswerEvent]:
        """A whole-document task answered in the chat: its result is saved as the answer."""
        answer_id = self.conversations.start_answer(conversation_id, self.host.info.name if self.host.info else None)
        yield AnswerStarted(conversation_id=conversation_id, question_id=question_id, answer_id=answer_id)
        work = DocumentWork(self.workspace, self.host, self.generation(), stopped=lambda: self._stopped)
        result: TaskResult | None = None
        try:
            for event in work.run(task):
                if isinstance(event, TaskProgress):
                    yield AnswerProgress(answer_id=answer_id, progress=event)
                else:
                    result = event
        except HearthError as exc:
            # The parts read so far are kept in the data folder: asking again continues from there.
            self.conversations.finish_answer(answer_id, text="", status=MessageStatus.INTERRUPTED, notes=[str(exc)])
            raise
        assert result is not None
        text, citations = result_markdown(result)
        yield AnswerToken(answer_id=answer_id, text=text)
        message = self.conversations.finish_answer(
            answer_id, text=text, status=MessageStatus.COMPLETE if result.complete else MessageStatus.STOPPED,
            citations=citations, notes=list(result.notes),
            timings=Timings(generated_tokens=result.map_tokens, total_ms=(time.perf_counter() - started) * 1000),
        )
        yield AnswerFinished(message=message)

    def _confidence(self, question: str, history: Sequence[Message], passages: Sequence[Passage]) -> float:
        """How close the nearest passage is to the question; a follow-up is also read with the
        question before it, which it may lean on ("and how long should it cool?")."""
        asked = [m.text for m in history if m.role == "user"]
        texts = [question, f"{asked[-1]} {question}"] if asked else [question]
        stored = self.workspace.vectors.vectors([p.chunk_id for p in passages])
        return attribution.retrieval_confidence(self.workspace.embedder.embed(texts), stored)

    def _not_covered(
        self,
        conversation_id: int,
        question_id: int,
        passages: list[Passage],
        confidence: float,
        retrieval_ms: float,
        started: float,
    ) -> Iterator[AnswerEvent]:
        """No passage is close to the question: say so and list the nearest, instead of letting the model invent."""
        answer_id = self.conversations.start_answer(conversation_id, None)  # Hearth's words, not a model's
        yield AnswerStarted(
            conversation_id=conversation_id, question_id=question_id, answer_id=answer_id, passages=tuple(passages)
        )
        text = not_covered_text(passages)
        yield AnswerToken(answer_id=answer_id, text=text)
        note = (
            f"{NOT_COVERED_NOTE} (best similarity {confidence:.2f}, "
            f"{attribution.CONFIDENCE_THRESHOLD:.2f} needed)"
        )
        message = self.conversations.finish_answer(
            answer_id, text=text, status=MessageStatus.COMPLETE, passages=passages, notes=[note],
            timings=Timings(retrieval_ms=retrieval_ms, total_ms=(time.perf_counter() - started) * 1000),
            confidence=confidence, setup=self.setup(),
        )
        yield AnswerFinished(message=message)

    def _stream(
        self,
        answer_id: int,
        question: str,
        prompt: str,
        passages: list[Passage],
        notes: list[str],
        generation: GenerationSettings,
        retrieval_ms: float,
        started: float,
        confidence: float | None,
    ) -> Iterator[AnswerEvent]:
        last_save = time.monotonic()
        control = self.host.info.control_tokens if self.host.info else ()
        grounded = self.pipeline.checks and bool(passages)
        bans = line_start_bans(self.pipeline.source_format) if grounded else ()
        # Grounded answers are checked for invented web addresses when saved; none is shown meanwhile.
        addresses = StreamedAddresses([question, *(p.text for p in passages)]) if grounded else None
        visible: list[str] = []  # what the window was shown, and what a crash or failure keeps

        def show(text: str, *, last: bool = False) -> Iterator[AnswerToken]:
            released = text if addresses is None else addresses.feed(text) + (addresses.finish() if last else "")
            if released:
                visible.append(released)
                yield AnswerToken(answer_id=answer_id, text=released)

        draft = _Draft()
        try:
            for piece in self._write(prompt, generation, bans, control, draft):
                yield from show(piece)
                if time.monotonic() - last_save > SAVE_EVERY_S:
                    self.conversations.save_partial(answer_id, "".join(visible))
                    last_save = time.monotonic()
            yield from show("", last=True)
        except ModelError:
            self.conversations.finish_answer(
                answer_id, text="".join(visible), status=MessageStatus.INTERRUPTED, passages=passages,
                notes=[*notes, "the model stopped unexpectedly"],
            )
            raise
        result = draft.result
        status = MessageStatus.STOPPED if draft.stopped_by_person else MessageStatus.COMPLETE
        checked = self._check(draft.text, question, passages, control, draft.notes)
        drafts = self.pipeline.drafts or generation.drafts
        if grounded and drafts > 1 and status == MessageStatus.COMPLETE:
            checked = yield from self._redraft(answer_id, question, prompt, passages, generation, bans, control,
                                               checked, drafts)
        timings = Timings(
            retrieval_ms=retrieval_ms,
            prompt_tokens=result.prompt_tokens if result else 0,
            time_to_first_token_ms=result.time_to_first_token_ms if result else None,
            generated_tokens=result.generated_tokens if result else 0,
            tokens_per_second=result.tokens_per_second if result else None,
            attribution_ms=checked.milliseconds,
            total_ms=(time.perf_counter() - started) * 1000,
        )
        message = self.conversations.finish_answer(
            answer_id, text=checked.text, status=status, citations=checked.citations, passages=checked.passages,
            timings=timings, notes=[*notes, *checked.notes], sentences=checked.sentences, excerpts=checked.excerpts,
            confidence=confidence, setup=self.setup(),
        )
        yield AnswerFinished(message=message)

    def _write(
        self, prompt: str, generation: GenerationSettings, bans: tuple[str, ...], control: Sequence[str], draft: _Draft
    ) -> Iterator[str]:
        """Generate into ``draft``, yielding text as it may be shown: the prompt's syntax or a loop ends it."""
        guard = StopFilter(stop_strings(self.pipeline.source_format, control)) if self.pipeline.checks else None
        repeats = RepetitionGuard() if self.pipeline.checks else None
        for event in self.host.generate(prompt, generation, banned_line_starts=bans):
            if isinstance(event, GenerationResult):
                draft.result = event
                continue
            if repeats is not None and repeats.looping:
                continue  # the host is stopping; the loop is not shown further
            shown = guard.feed(event.text) if guard else event.text
            if guard is not None and guard.stopped:
                self.host.cancel()  # the model went on to write the prompt's syntax: the answer ends here
            if repeats is not None:
                repeats.feed(shown)
                if repeats.looping:
                    self.host.cancel()  # the model is going round in circles: the answer ends before it
            draft.pieces.append(shown)
            yield shown
        draft.pieces.append(guard.finish() if guard else "")
        yield draft.pieces[-1]
        if repeats is not None:
            repeats.finish()
            draft.repetition_at = repeats.keep if repeats.looping else None
        draft.ended_by_checks = (guard is not None and guard.stopped) or (repeats is not None and repeats.looping)

    def _redraft(
        self, answer_id: int, question: str, prompt: str, passages: list[Passage], generation: GenerationSettings,
        bans: tuple[str, ...], control: Sequence[str], first: CheckedAnswer, drafts: int,
    ) -> Generator[AnswerEvent, None, CheckedAnswer]:
        """Further drafts, written unseen; the one the passages support best is kept (the earliest on a tie)."""
        checked, ranks = [first], [support_rank(first.sentences, passages)]
        began = time.monotonic()
        for number in range(1, drafts):
            each = (time.monotonic() - began) / (number - 1) if number > 1 else None
            yield AnswerProgress(answer_id=answer_id, progress=TaskProgress(
                step="Writing another draft to check against your files", done=number, total=drafts,
                eta_s=each * (drafts - number) if each is not None else None,
            ))
            draft = _Draft()
            for _ in self._write(prompt, draft_settings(generation, number), bans, control, draft):
                pass
            if self._stopped or draft.stopped_by_person:
                break  # Stop: the drafts written so far are enough
            checked.append(self._check(draft.text, question, passages, control, draft.notes))
            ranks.append(support_rank(checked[-1].sentences, passages))
        kept = max(range(len(ranks)), key=lambda number: (ranks[number], -number))
        note = choice_note(kept, len(ranks), ranks)
        return checked[kept].model_copy(update={"notes": [*checked[kept].notes, note]})

    def _check(
        self, answer: str, question: str, passages: list[Passage], control: Sequence[str], cut: Sequence[str] = ()
    ) -> CheckedAnswer:
        """The answer as saved: its citations verified (or, without checks, as the model wrote them); ``cut``
        notes say where the model's writing was cut."""
        began = time.perf_counter()
        if not self.pipeline.checks or not passages:
            cleaned = strip_markup(answer, control) if self.pipeline.checks else answer
            text, citations, marked, removed = resolve(cleaned, passages)
            notes = [*cut, *_invented_note(removed)]
            return CheckedAnswer(text=text, citations=citations, passages=marked, notes=notes)
        embed = self.sentence_embeddings()
        known = [question, *(p.text for p in passages)]
        cleaned, addresses = remove_invented(strip_markup(answer, control).strip(), known)
        cleaned = without_leftovers(cleaned) if addresses else cleaned
        found = attribution.attribute(cleaned, passages, embed, question=question)
        notes = [*cut, *_invented_note(found.invented)]
        if addresses:
            notes.append(f"{addresses} web address(es) the model wrote are not in your files and were removed")
        if found.corrected or found.dropped:
            notes.append(
                f"checked the model's citations against the passages: {found.corrected} moved to the passage "
                f"that supports the sentence, {found.dropped} removed (no passage supports the sentence)"
            )
        unsupported = sum(1 for sentence in found.sentences if sentence.supported is False)
        checked = sum(1 for sentence in found.sentences if sentence.supported is not None)
        if unsupported:
            notes.append(f"{unsupported} of {checked} sentences not found in your files")
        if len(found.sentences) > attribution.MAX_ANSWER_SENTENCES:
            notes.append(f"only the first {attribution.MAX_ANSWER_SENTENCES} sentences were checked")
        citations, marked, shown = found.citations, found.passages, []
        supported = checked - unsupported
        if supported == 0 or 2 * supported < checked:
            # Most of what the model said is not in the files: what the files say is shown, and cited, under it.
            by_number = {p.n: p for p in passages}
            shown = [
                Excerpt(n=n, span=span, text=" ".join(by_number[n].text[span.start : span.end].split()))
                for n, span in attribution.excerpts(question, passages, embed)
            ]
            quoted = [n for n in dict.fromkeys(e.n for e in shown) if n not in {c.n for c in citations}]
            citations = [*citations, *(attribution.citation(by_number[n]) for n in quoted)]
            # A quoted passage opens with the quoted sentence highlighted, as a supporting one would be.
            quoted_spans = {
                n: tuple(sorted({e.span for e in shown if e.n == n}, key=lambda s: s.start)) for n in quoted
            }
            marked = [
                p.model_copy(update={"cited": True, "supports": quoted_spans[p.n]}) if p.n in quoted else p
                for p in marked
            ]
        return CheckedAnswer(
            text=found.text, citations=citations, passages=marked, notes=notes,
            sentences=tuple(found.sentences), excerpts=tuple(shown), milliseconds=(time.perf_counter() - began) * 1000,
        )


@dataclass
class _Draft:
    """One generation of an answer, as ``Answerer._write`` let it through."""

    pieces: list[str] = field(default_factory=list)
    result: GenerationResult | None = None
    ended_by_checks: bool = False  # the prompt's syntax or a loop ended it, not the person
    repetition_at: int | None = None  # where the model began repeating itself

    @property
    def text(self) -> str:
        text = "".join(self.pieces)
        return text if self.repetition_at is None else text[: self.repetition_at].rstrip()

    @property
    def notes(self) -> list[str]:
        if self.repetition_at is None:
            return []
        return ["the model began repeating itself: the answer ends before the repetition"]

    @property
    def stopped_by_person(self) -> bool:
        return self.result is not None and self.result.stopped and not self.ended_by_checks


class CheckedAnswer(Frozen):
    text: str
    citations: list[Citation]
    passages: list[Passage]
    notes: list[str]
    sentences: tuple[SentenceSupport, ...] = ()
    excerpts: tuple[Excerpt, ...] = ()
    milliseconds: float = 0.0


def _invented_note(removed: Sequence[int]) -> list[str]:
    """The answer was shown as written: say why the saved one differs."""
    if not removed:
        return []
    return [f"removed citations naming no passage the model was shown: {', '.join(f'[{n}]' for n in removed)}"]


def not_covered_text(passages: Sequence[Passage]) -> str:
    if not passages:
        return NOT_COVERED
    nearest = [
        f"- [{p.n}] {attribution.markdown_literal(Path(p.path).name)}"
        + (f", page {p.page}" if p.page else (f", {attribution.markdown_literal(p.heading)}" if p.heading else ""))
        for p in passages[:NEAREST_SHOWN]
    ]
    return NOT_COVERED + " The nearest passages:\n\n" + "\n".join(nearest)
