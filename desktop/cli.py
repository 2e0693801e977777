"""The ``hearth`` command. With ``--json`` a command prints exactly one JSON document on stdout;
logs and progress go to stderr. Exit codes: 0 ok, 1 some files failed, 2 usage error."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ValidationError

from desktop import __version__
from desktop.core.backends import OFFLINE, outside_machine
from desktop.core.errors import HearthError, UsageError
from desktop.core.offline import enforce_offline
from desktop.core.settings import MAX_DRAFTS

log = logging.getLogger("hearth.cli")

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class SearchResultJson(BaseModel):
    path: str
    page: int | None
    heading: str | None
    score: float
    text: str
    also_in: list[str]  # other files holding the same text
    ocr_confidence: float | None  # 0..1 if the passage was read by OCR


class StatusJson(BaseModel):
    documents: int
    chunks: int
    failed: int
    skipped: int  # files with no text to index (photos): not failures
    embedder: str
    data_dir: str
    remote: list[str]  # what leaves the machine ("Remote vectors: host:port"); empty: nothing


class BackendsJson(BaseModel):
    vector_server: str | None  # None: embedded, in the data folder
    collection: str | None
    model_server: str | None  # None: the local model host
    model: str | None  # the server's model, once checked
    remote: list[str]


class CitationJson(BaseModel):
    n: int
    path: str
    page: int | None


class SentenceJson(BaseModel):
    text: str
    start: int  # offsets into the answer
    end: int
    supported: bool | None  # None: nothing to check
    n: int | None  # the passage that supports it
    passage_span: list[int] | None  # the supporting sentence: [start, end) in that passage's text


class ExcerptJson(BaseModel):
    n: int
    path: str
    page: int | None
    text: str


class AskJson(BaseModel):
    answer: str
    citations: list[CitationJson]
    passages: list[dict[str, Any]]
    conversation: int
    timings: dict[str, Any]
    sentences: list[SentenceJson]
    excerpts: list[ExcerptJson]  # "From your files": when fewer than half its sentences are supported
    tool_calls: list[dict[str, Any]]  # with --agent: each call, its arguments, result and approval


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `hearth {self.prog.split()[-1]} --help`)"
                         if " " in self.prog else f"{message} (see `hearth --help`)")


def _emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


# Text output shows data (file names, document text, model answers) that anyone may have written: raw,
# an escape sequence in it could retitle or recolour the terminal, rewrite what was printed, or flip
# the text's direction. Such characters are shown as repr-style escapes (\x1b); JSON stays exact.
_UNSAFE = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_IN_TEXT = re.compile(f"[{_UNSAFE}]")  # running text keeps its tabs and line breaks
_UNSAFE_IN_FIELD = re.compile(rf"[\t\n\u2028\u2029{_UNSAFE}]")  # a name must not start a line of its own


def _escaped(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda match: ascii(match[0])[1:-1], text)


def _shown(value: object) -> str:
    """A value (a path, a title, a reason) as one line of plain terminal text."""
    return _escaped(_UNSAFE_IN_FIELD, str(value))


def _say(text: str = "", *, file: TextIO | None = None, end: str = "\n") -> None:
    """Every line of text output goes out here, so no control character reaches the terminal raw."""
    stream = file or sys.stdout
    stream.write(_escaped(_UNSAFE_IN_TEXT, text) + end)


def _workspace(*, writes: bool = False) -> Any:
    """``writes``: the command changes the data folder, so it takes the folder's lock."""
    from desktop.services.home import Home

    return Home().workspace(writes=writes)


# -- commands ---------------------------------------------------------------------------------
def cmd_index(args: argparse.Namespace) -> int:
    from desktop.services.indexing import Indexer

    workspace = _workspace(writes=True)
    progress = _IndexProgressBar(enabled=sys.stderr.isatty() and not args.quiet)
    try:
        report = Indexer(workspace).index([Path(p) for p in args.paths], progress=progress)
    finally:
        progress.close()
    if args.json:
        _emit_json(report.model_dump(mode="json"))
    else:
        skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
        _say(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed{skipped}; {report.chunks} passages embedded."
        )
        for failure in report.failed:
            _say(f"  failed: {_shown(failure.path)}: {_shown(failure.reason)}")
        for skip in report.skipped:
            _say(f"  skipped: {_shown(skip.path)}: {_shown(skip.reason)}")
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from desktop.services.retrieval import Mode, Retriever

    if not args.query.strip():
        raise UsageError("The search query is empty.")
    workspace = _workspace()
    hits = Retriever(workspace).search(args.query, args.k, mode=Mode(args.mode) if args.mode else None)
    if args.json:
        _emit_json([SearchResultJson.model_validate(hit, from_attributes=True).model_dump() for hit in hits])
        return EXIT_OK
    if not hits:
        _say("No matching passages.")
    for number, hit in enumerate(hits, start=1):
        where = f" p.{hit.page}" if hit.page else (f" · {_shown(hit.heading)}" if hit.heading else "")
        if hit.ocr_confidence is not None:
            where += f" · OCR {hit.ocr_confidence:.0%}"
        snippet = _shown(" ".join(hit.text.split())[:240])
        _say(f"[{number}] {_shown(hit.path)}{where}  ({hit.score:.3f}, {'+'.join(hit.retrievers)})\n    {snippet}")
        if hit.also_in:
            _say(f"    also in: {', '.join(_shown(path) for path in hit.also_in)}")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from desktop.services.indexing import Indexer

    removed = Indexer(_workspace(writes=True)).forget([Path(p) for p in args.paths])
    _say(f"{removed} documents removed from the index.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    workspace = _workspace()
    counts = workspace.registry.counts()
    status = StatusJson(
        documents=counts["documents"], chunks=counts["chunks"], failed=counts["failed"], skipped=counts["skipped"],
        embedder=workspace.settings.index.embedder, data_dir=str(workspace.data_dir),
        remote=outside_machine(workspace.settings.backends),
    )
    if args.json:
        _emit_json(status.model_dump())
        return EXIT_OK
    _say(f"Data folder: {_shown(status.data_dir)}")
    skipped = f", {status.skipped} skipped (no text)" if status.skipped else ""
    _say(f"Documents:   {status.documents} ({counts['indexed']} indexed, {status.failed} failed{skipped}, "
        f"{counts['pending']} unfinished)")
    _say(f"Passages:    {status.chunks}")
    _say(f"Embedder:    {_shown(status.embedder)}")
    _say(f"Network:     {_shown('; '.join(status.remote) or OFFLINE)}")
    if workspace.rebuild_needed:
        _say("The index was built with other settings: run `hearth index` to rebuild it.")
    return EXIT_OK


RETRIEVAL_MODES = ("hybrid", "vector", "keyword")


def cmd_eval(args: argparse.Namespace) -> int:
    from desktop.services import evaluation
    from desktop.services.retrieval import Mode, Retriever

    if args.answers:
        return _eval_answers(args)
    if args.compare and not set(args.compare) <= set(RETRIEVAL_MODES):
        raise UsageError(f"--compare takes retrieval modes ({', '.join(RETRIEVAL_MODES)}); answer pipelines "
                         "need --answers.")
    sets = _question_sets(args)
    if args.against is not None and (args.compare or args.mode):
        raise UsageError("--against compares two data folders, each in its own search mode: leave out --compare "
                         "and --mode.")
    workspace = _workspace()
    if args.against is not None:
        folders = {"this folder": workspace, "other folder": _other_workspace(Path(args.against), workspace.data_dir)}
        searches = {name: partial(_search_in, Retriever(ws), mode=None) for name, ws in folders.items()}
    else:
        retriever = Retriever(workspace)
        modes = [Mode(m) for m in args.compare] if args.compare else [Mode(args.mode) if args.mode else None]
        labels = [str(mode or ("hybrid" if workspace.settings.retrieval.hybrid else "vector")) for mode in modes]
        folders = dict.fromkeys(labels, workspace)
        searches = {label: partial(_search_in, retriever, mode=mode) for label, mode in zip(labels, modes, strict=True)}
    names = list(searches)

    per_set: list[dict[str, list[evaluation.QuestionResult]]] = []
    for question_set in sets:
        per_set.append({
            name: evaluation.run_questions(
                question_set.questions, question_set.root,
                partial(search, within=_corpus(folders[name], question_set.root)),
            )
            for name, search in searches.items()
        })
    reports = [evaluation.report(s.name, runs) for s, runs in zip(sets, per_set, strict=True)]
    if len(reports) > 1:
        reports.append(evaluation.pooled("all sets", per_set))
    if args.json:
        _emit_json({"configs": names, "sets": [r.model_dump(mode="json") for r in reports]})
        return EXIT_OK
    for set_report in reports:
        _print_report(set_report)
    return EXIT_OK


def _search_in(retriever: Any, question: str, k: int, *, mode: Any, within: list[int]) -> list[Any]:
    return retriever.search(question, k, mode=mode, document_ids=within)


def _other_workspace(folder: Path, this: Path) -> Any:
    """The data folder ``hearth eval --against`` compares with: an existing one, read only."""
    from desktop.services.home import Home

    if not (folder / "index").is_dir():
        raise UsageError(f"--against {folder}: no Hearth data folder there (it has no index).")
    if folder.resolve() == this.resolve():
        raise UsageError("--against names this data folder itself: give another one.")
    return Home(folder).workspace()


def _corpus(workspace: Any, root: Path) -> list[int]:
    """The documents a question set is asked within: one data folder may hold several corpora."""
    within = [d.id for d in workspace.registry.documents(under=os.path.abspath(root))]
    if not within:
        raise UsageError(f"Nothing under {root} is indexed: run `hearth index {root}`.")
    return within


def _eval_answers(args: argparse.Namespace) -> int:
    """Answer quality: every question asked through the real Answerer (docs/answer-eval.md)."""
    from desktop.services import answer_evaluation as answers
    from desktop.services.answering import AnswerPipeline

    names = args.compare or [None]
    unknown = [name for name in names if name is not None and name not in answers.PIPELINES]
    if unknown:
        raise UsageError(f"With --answers, --compare takes answer pipelines ({', '.join(answers.PIPELINES)}), "
                         f"not {unknown[0]!r}.")
    sets = _question_sets(args)
    for question_set in sets:
        question_set.questions = question_set.questions[: args.limit] if args.limit else question_set.questions
        if not any(q.answer for q in question_set.questions):
            raise UsageError(f"{question_set.name} has no 'answer' fields to score answers against.")
    scratch = tempfile.TemporaryDirectory(prefix="hearth-eval-")  # the answers are not the user's chats
    answerer = _engine(args.model, conversations=Path(scratch.name) / "conversations.sqlite3")
    workspace = answerer.workspace
    # Reproducible and bounded: greedy decoding, a fixed seed, a capped answer length.
    workspace.settings = workspace.settings.updated(
        generation={"temperature": 0.0, "seed": EVAL_SEED, "max_tokens": args.max_tokens}
    )
    pipelines = {
        name or AnswerPipeline().source_format: answers.PIPELINES[name] if name else AnswerPipeline()
        for name in names
    }
    per_set: list[dict[str, list[Any]]] = []
    try:
        answerer.use_model(answerer.model_path)
        for question_set in sets:
            within = _corpus(workspace, question_set.root)
            runs = {}
            for name, pipeline in pipelines.items():
                answerer.pipeline = pipeline
                log.info("%s, %s: %d questions", question_set.name, name, len(question_set.questions))
                runs[name] = answers.run_answers(
                    question_set.questions, question_set.root,
                    partial(answerer.ask, document_ids=within), answerer.sentence_embeddings(),
                    progress=lambda done, total: log.info("  %d/%d", done, total),
                )
            per_set.append(runs)
    finally:
        answerer.close()
        scratch.cleanup()
    reports = [answers.answer_report(s.name, runs) for s, runs in zip(sets, per_set, strict=True)]
    if len(reports) > 1:
        reports.append(answers.pooled_answers("all sets", per_set))
    model = answerer.model_path.name if answerer.model_path else "?"
    if args.json:
        _emit_json({"model": model, "configs": list(pipelines), "max_tokens": args.max_tokens,
                    "sets": [r.model_dump(mode="json") for r in reports]})
        return EXIT_OK
    _say(f"{_shown(model)}, at most {args.max_tokens} tokens per answer, seed {EVAL_SEED}, temperature 0")
    for answer_report in reports:
        _print_answer_report(answer_report)
    return EXIT_OK


EVAL_SEED = 42
_ANSWER_METRICS = {
    "cites_relevant": "cites a relevant file",
    "sentences_cite_relevant": "  ...in its own sentences",
    "supported": "sentences supported",
    "recall": "gold content recall",
    "leaked": "leaks prompt markup",
    "not_covered": "'not in your files'",
    "tokens_per_second": "tokens/s",
}


def _print_answer_report(report: Any) -> None:
    from desktop.services.answer_evaluation import HIGHER_IS_BETTER

    _say(f"\n{_shown(report.name)}: {report.n} questions")
    configs = list(report.summaries)
    _say(f"  {'':<24}" + "".join(f"{_shown(config):>30}" for config in configs))
    for metric, title in _ANSWER_METRICS.items():
        cells = ""
        for config in configs:
            figure = report.summaries[config][metric]
            digits = 1 if metric == "tokens_per_second" else 3
            cells += f"{figure.mean:>10.{digits}f} [{figure.ci95[0]:.{digits}f}, {figure.ci95[1]:.{digits}f}]".rjust(30)
        _say(f"  {title:<24}{cells}")
    if report.difference is not None:
        _say(f"  {configs[1]} − {configs[0]} (paired):")
        for metric, figures in report.difference.items():
            low, high = figures.ci95
            verdict = figures.verdict(HIGHER_IS_BETTER.get(metric, True))
            _say(f"    {_ANSWER_METRICS[metric]:<24} {figures.difference:+.3f}  95% CI [{low:+.3f}, {high:+.3f}]  "
                 f"p={figures.p_value:.3f}  higher on {figures.better}, lower on {figures.worse}: {verdict}")


def _question_sets(args: argparse.Namespace) -> list[Any]:
    from desktop.services import evaluation

    if args.sets:
        if args.questions or args.root:
            raise UsageError("Give question files with --root, or a --sets file, not both.")
        return evaluation.load_set_list(Path(args.sets))
    if not args.questions:
        raise UsageError("Give a question file (QA.jsonl --root FOLDER) or a --sets file.")
    if len(args.questions) != len(args.root or []):
        raise UsageError("Give one --root for each question file, in the same order.")
    return [evaluation.load_set(Path(q), Path(r)) for q, r in zip(args.questions, args.root, strict=True)]


def _print_report(report: Any) -> None:
    configs = list(report.summaries)
    _say(f"\n{_shown(report.name)}: {report.n} questions")
    for config, summary in report.summaries.items():
        cells = "  ".join(
            f"{metric} {summary[metric]:.3f} [{summary['ci95'][metric][0]:.3f}, {summary['ci95'][metric][1]:.3f}]"
            for metric in ("recall@5", "recall@10", "mrr")
        )
        _say(f"  {config:<8} {cells}")
    _say(f"  {'by kind':<12}" + "".join(f"{config + ' r@5':>14}{'r@10':>7}{'mrr':>7}" for config in configs))
    kinds = report.by_kind[configs[0]]
    for kind, figures in kinds.items():
        cells = "".join(
            f"{report.by_kind[config][kind]['recall@5']:>14.3f}{report.by_kind[config][kind]['recall@10']:>7.3f}"
            f"{report.by_kind[config][kind]['mrr']:>7.3f}"
            for config in configs
        )
        _say(f"  {_shown(kind):<12}{cells}   (n={figures['n']:.0f})")
    if report.difference is not None:
        _say(f"  {configs[1]} − {configs[0]} (paired):")
        for metric, figures in report.difference.items():
            low, high = figures.ci95
            _say(f"    {metric:<10} {figures.difference:+.3f}  95% CI [{low:+.3f}, {high:+.3f}]  "
                 f"p={figures.p_value:.3f}  better on {figures.better}, worse on {figures.worse}: {figures.verdict()}")


class _IndexProgressBar:
    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def __call__(self, progress: Any) -> None:
        if not self.enabled or progress.files_total == 0:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=progress.files_total, unit="file", file=sys.stderr, dynamic_ncols=True)
        self._bar.n = progress.files_done
        step = f", {progress.step}" if progress.step else ""
        self._bar.set_postfix_str(f"{progress.chunks_done} passages{step}", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _engine(model: str | None, *, conversations: Path | None = None) -> Any:
    """An Answerer; ``conversations``: where its chats go, if not the data folder's own."""
    from desktop.services.home import Home
    from desktop.services.models import resolve_model

    home = Home()
    answerer = home.answerer(
        workspace=_workspace(writes=conversations is None), conversations=home.conversations(conversations)
    )
    if model:
        answerer.model_path = resolve_model(answerer.workspace, model)
    return answerer


def cmd_ask(args: argparse.Namespace) -> int:
    if not args.question.strip():
        raise UsageError("The question is empty.")
    if args.approve and not args.agent:
        raise UsageError("--approve lets the assistant's writing tools run: it needs --agent.")
    if args.agent:
        if args.no_rag:
            raise UsageError("--agent answers from your files: it cannot be used with --no-rag.")
        return _answer(args, lambda answerer, scope: _agent(answerer, approve=args.approve).ask(
            args.question, conversation_id=args.conversation, document_ids=scope
        ))
    return _answer(args, lambda answerer, scope: answerer.ask(
        args.question, conversation_id=args.conversation, rag=not args.no_rag, document_ids=scope
    ))


def _agent(answerer: Any, *, approve: bool) -> Any:
    """The assistant with tools; writing tools run only with --approve, and every call is listed on stderr."""
    from desktop.services.agent import Agent, approve_writes, refuse_writes

    return Agent(answerer, approve=approve_writes if approve else refuse_writes)


def _show_tool_call(record: Any) -> None:
    arguments = json.dumps(record.arguments, ensure_ascii=False)
    _say(f"  tool {record.step}: {_shown(record.tool)} {_shown(arguments)} [{record.approval.value}]",
         file=sys.stderr)
    _say(f"    -> {_shown(_clipped(record.result, 200))}", file=sys.stderr)


def cmd_regenerate(args: argparse.Namespace) -> int:
    return _answer(args, lambda answerer, scope: answerer.regenerate(
        args.conversation, rag=not args.no_rag, document_ids=scope
    ))


def _answer(args: argparse.Namespace, events: Callable[[Any, list[int] | None], Iterator[Any]]) -> int:
    """Stream an answer (``events``: the answerer and the documents in scope -> its events), then
    print what was checked and cited."""
    from desktop.services.agent import ToolCallFinished
    from desktop.services.answering import AnswerFinished, AnswerProgress, AnswerStarted, AnswerToken
    from desktop.services.library import documents_in

    if args.drafts is not None and not 1 <= args.drafts <= MAX_DRAFTS:
        raise UsageError(f"--drafts takes 1 to {MAX_DRAFTS} drafts, not {args.drafts}.")
    answerer = _engine(args.model)
    if args.drafts is not None:
        answerer.pipeline = answerer.pipeline.model_copy(update={"drafts": args.drafts})
    if args.force:
        answerer.use_model(answerer.model_path, force=True)
    finished = None
    streamed: list[str] = []
    try:
        scope = documents_in(answerer.workspace, [Path(p) for p in args.only]) if args.only else None
        for event in events(answerer, scope):
            if isinstance(event, AnswerToken) and not args.json:
                streamed.append(event.text)
                _say(event.text, end="")  # the model can write escape sequences too
                sys.stdout.flush()
            elif isinstance(event, AnswerFinished):
                finished = event.message
            elif isinstance(event, AnswerProgress):
                _say(f"\n({event.progress.step}: {event.progress.done + 1} of {event.progress.total})", file=sys.stderr)
            elif isinstance(event, AnswerStarted) and not args.json:
                log.info("conversation %s", event.conversation_id)
            elif isinstance(event, ToolCallFinished):
                _show_tool_call(event.record)
                if event.opens is not None:  # the window would show it; stdout stays one JSON document with --json
                    page = f", page {event.opens.page}" if event.opens.page else ""
                    _say(f"Open: {_shown(event.opens.path)}{page}", file=sys.stderr if args.json else sys.stdout)
    except KeyboardInterrupt:
        answerer.cancel()
        raise
    finally:
        answerer.close()
    assert finished is not None
    if args.json:
        _emit_json(_ask_json(finished).model_dump())
        return EXIT_OK
    _say()
    if finished.text.strip() != "".join(streamed).strip():  # its citations were checked and changed
        _say(f"\nChecked against your files:\n{finished.text}")
    unsupported = [finished.text[s.start : s.end] for s in finished.sentences if s.supported is False]
    if unsupported:
        _say("\nNot found in your files:")
        for sentence in unsupported:
            _say(f"  - {_shown(_clipped(sentence))}")
    if finished.excerpts:
        _say("\nFrom your files:")
        for excerpt in finished.excerpts:
            _say(f"  [{excerpt.n}] {_shown(_clipped(excerpt.text, 300))}")
    if finished.citations:
        _say("\nSources:")
        for citation in finished.citations:
            where = f", page {citation.page}" if citation.page else ""
            _say(f"  [{citation.n}] {_shown(citation.path)}{where}")
    for note in finished.notes:
        _say(f"  ({_shown(note)})")
    if finished.timings and finished.timings.tokens_per_second:
        _say(f"  ({finished.timings.generated_tokens} tokens, {finished.timings.tokens_per_second:.0f} tokens/s;"
            f" conversation {finished.conversation_id})", file=sys.stderr)
    return EXIT_OK


def _clipped(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ask_json(message: Any) -> AskJson:
    by_number = {p.n: p for p in message.passages}
    return AskJson(
        answer=message.text,
        citations=[CitationJson(n=c.n, path=c.path, page=c.page) for c in message.citations],
        passages=[p.model_dump() for p in message.passages],
        conversation=message.conversation_id,
        timings=message.timings.model_dump() if message.timings else {},
        sentences=[
            SentenceJson(
                text=message.text[s.start : s.end], start=s.start, end=s.end, supported=s.supported, n=s.n,
                passage_span=[s.span.start, s.span.end] if s.span else None,
            )
            for s in message.sentences
        ],
        excerpts=[
            ExcerptJson(n=e.n, path=by_number[e.n].path, page=by_number[e.n].page, text=e.text)
            for e in message.excerpts if e.n in by_number
        ],
        tool_calls=[c.model_dump(mode="json") for c in message.tool_calls],
    )


class DocumentItemJson(BaseModel):
    text: str
    path: str
    page: int | None
    heading: str | None
    found: bool  # False: a summary sentence no page of the document supports


class DocumentTaskJson(BaseModel):
    task: str
    documents: list[str]
    what: str | None
    complete: bool  # False: stopped; run the same command to continue
    items: list[DocumentItemJson]
    parts: int
    parts_done: int
    notes: list[str]
    seconds: float


def cmd_document_task(args: argparse.Namespace) -> int:
    """summarize / extract / compare: whole-document work, resumable after a crash or Ctrl+C."""
    from desktop.core.document_task import TaskKind, TaskProgress, document_task
    from desktop.services.document_results import result_lines
    from desktop.services.document_tasks import DocumentWork

    kind = {"summarize": TaskKind.SUMMARY, "extract": TaskKind.EXTRACT, "compare": TaskKind.COMPARE}[args.command]
    task = document_task(kind, args.paths, getattr(args, "what", None))
    answerer = _engine(args.model)
    show_progress = sys.stderr.isatty() and not args.json
    result = None
    try:
        answerer.use_model(answerer.model_path)
        work = DocumentWork(answerer.workspace, answerer.host, answerer.generation())
        for event in work.run(task):
            if isinstance(event, TaskProgress):
                if show_progress:
                    eta = f", about {_duration(event.eta_s)} left" if event.eta_s is not None else ""
                    # Only the line's own controls are raw: the step names files, shown escaped.
                    sys.stderr.write(f"\r\x1b[K{_shown(event.step)} ({event.done}/{event.total}{eta})")
                    sys.stderr.flush()
            else:
                result = event
    finally:
        if show_progress:
            sys.stderr.write("\n")
        answerer.close()
    assert result is not None
    if args.json:
        _emit_json(DocumentTaskJson(
            task=str(task.kind), documents=list(task.paths), what=task.what, complete=result.complete,
            items=[DocumentItemJson.model_validate(item, from_attributes=True) for item in result.items],
            parts=result.parts, parts_done=result.parts_done, notes=list(result.notes), seconds=result.seconds,
        ).model_dump())
        return EXIT_OK
    for line in result_lines(result):
        _say(line)
    for note in result.notes:
        _say(f"  ({_shown(note)})")
    return EXIT_OK


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def cmd_chats(args: argparse.Namespace) -> int:
    from desktop.services import export
    from desktop.services.home import Home

    store = Home().conversations()
    if args.action == "list":
        conversations = store.list(args.search)
        if args.json:
            _emit_json([c.model_dump() for c in conversations])
        for conversation in [] if args.json else conversations:
            _say(f"{conversation.id:>5}  {_shown(conversation.title)}  ({conversation.messages} messages)")
        return EXIT_OK
    if args.action == "show":
        if args.id is None:
            raise UsageError("Which conversation? `hearth chats show ID`")
        _say(export.export_markdown(store, args.id))
        return EXIT_OK
    if args.id is None and not args.all:
        raise UsageError("Give a conversation id or --all.")
    ids = [c.id for c in store.list()] if args.all else [args.id]
    if args.format == "json":
        documents = [export.export_json(store, i).model_dump(mode="json") for i in ids]
        _emit_json(documents if args.all else documents[0])
    else:
        _say("\n\n---\n\n".join(export.export_markdown(store, i) for i in ids))
    return EXIT_OK


def cmd_feedback(args: argparse.Namespace) -> int:
    from desktop.core.types import Feedback
    from desktop.services.home import Home

    feedback = None if args.value == "clear" else Feedback(args.value)
    message = Home().conversations().set_feedback(args.id, feedback)
    if args.json:
        _emit_json({"message": message.id, "feedback": message.feedback})
    else:
        _say(f"Answer {message.id}: " + (f"thumbs {message.feedback}" if message.feedback else "feedback cleared"))
    return EXIT_OK


def _p(value: float | None) -> str:
    return "" if value is None else ("p < 0.001" if value < 0.001 else f"p = {value:.3f}")


def _rate_text(rate: Any) -> str:
    if rate.rate is None:
        return "—"
    return f"{rate.rate:.0%} ({rate.low:.0%}–{rate.high:.0%}, {rate.hits}/{rate.total})"


def cmd_insights(args: argparse.Namespace) -> int:
    import time

    from desktop.services.home import Home
    from desktop.services.insights import answer_insights

    report = answer_insights(Home().conversations(), now=time.time())
    if args.json:
        _emit_json(report.model_dump(mode="json"))
        return EXIT_OK
    if report.unavailable:
        _say(report.unavailable)
        return EXIT_OK
    _say(f"{report.answers} answers, {report.rated} rated")
    for m in report.models:
        ttft = f"{m.time_to_first_token_ms:.0f} ms" if m.time_to_first_token_ms is not None else "—"
        speed = f"{m.tokens_per_second:.1f} tokens/s" if m.tokens_per_second is not None else "—"
        _say(f"  {_shown(m.model)}: {m.answers} answers, first token {ttft}, {speed}; supported "
             f"{_rate_text(m.supported)}; thumbs up {_rate_text(m.thumbs_up)}; not covered {_rate_text(m.not_covered)}")
    for change in report.changes:
        _say(f"Change ({', '.join(change.changes)}): "
             f"{change.before_answers} answers before, {change.after_answers} after")
        if change.unavailable:
            _say(f"  {change.unavailable}")
        for metric in change.metrics:
            flag = "  SIGNIFICANT" if metric.significant else ""
            _say(f"  {metric.metric}: {_rate_text(metric.before)} → {_rate_text(metric.after)} "
                 f"{_p(metric.adjusted_p)}{flag}")
    drift = report.query_drift
    drifted = " (drifted)" if drift.drifted else ""
    _say("Query drift: " + (drift.unavailable or f"median best score {drift.earlier_median:.2f} → "
                            f"{drift.recent_median:.2f}, {_p(drift.p_value)}{drifted}"))
    if report.low_confidence:
        _say("Questions your files did not cover:")
        for question in report.low_confidence:
            _say(f"  {_shown(_clipped(question.question, 100))}")
    return EXIT_OK


def cmd_topics(args: argparse.Namespace) -> int:
    from desktop.services.home import Home
    from desktop.services.library_insights import library_insights, topic_map_of
    from desktop.services.library_vectors import load_library

    home = Home()
    workspace = _workspace()
    if args.drift:
        result: Any = library_insights(workspace, home.insights_dir)
        topic_map, drift = result.map, result.drift
    else:
        topic_map, _ = topic_map_of(workspace, load_library(workspace), home.insights_dir, rebuild=args.rebuild)
        drift = None
    if args.json:
        document = topic_map.model_dump(mode="json", exclude={"points"} if not args.points else set())
        if drift is not None:
            document["drift"] = drift.model_dump(mode="json")
        _emit_json(document)
        return EXIT_OK
    if topic_map.unavailable:
        _say(topic_map.unavailable)
    chosen = max(topic_map.candidates, key=lambda c: c.silhouette, default=None)
    if chosen is not None:
        _say(f"{len(topic_map.topics)} topics in {topic_map.passages} passages (silhouette {chosen.silhouette:.2f})")
    for topic in sorted(topic_map.topics, key=lambda t: -t.passages):
        _say(f"  {topic.passages:>6}  {_shown(topic.label)}  ({len(topic.document_ids)} documents)")
    if drift is not None:
        test = drift.test
        _say("Library drift: " + (test.unavailable or f"AUC {test.auc:.2f}, {_p(test.p_value)}"
                                  + (" (drifted)" if test.drifted else "")))
        for grew in drift.grew:
            _say(f"  {'new' if grew.appeared else 'grew'}: {_shown(grew.label)} "
                 f"({grew.existing_share:.0%} → {grew.new_share:.0%} of passages)")
    return EXIT_OK


def cmd_duplicates(args: argparse.Namespace) -> int:
    from desktop.services.duplicates import find_duplicates

    report = find_duplicates(_workspace())
    if args.json:
        _emit_json(report.model_dump(mode="json"))
        return EXIT_OK
    if report.unavailable:
        _say(report.unavailable)
        return EXIT_OK
    if not report.groups:
        _say(f"No near-duplicates among {report.documents} documents.")
        return EXIT_OK
    groups = f"{len(report.groups)} group{'' if len(report.groups) == 1 else 's'}"
    _say(f"{groups} of near-duplicates among {report.documents} documents "
         "(`hearth forget PATH` forgets a copy; the file itself stays):")
    for group in report.groups:
        _say(f"  keep   {_shown(group.kept)}")
        for copy in group.copies:
            _say(f"  copy   {_shown(copy.path)}  ({copy.held:.0%} of its text is in the one kept)")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from desktop.core.model_info import format_gb
    from desktop.services.models import available_models

    models = available_models(_workspace())
    if args.json:
        _emit_json([m.model_dump(exclude={"chat_template", "control_tokens"}) for m in models])
        return EXIT_OK
    if not models:
        _say("No models found. Add .gguf files to the models folder.")
    for m in models:
        params = f"{m.parameters / 1e6:.0f}M" if m.parameters else "?"
        _say(f"{_shown(m.name)}\n    {_shown(m.architecture)}, {params} parameters, {_shown(m.quantization or '?')}, "
            f"{format_gb(m.file_size)} on disk, context {m.context_length or '?'}, "
            f"needs about {format_gb(m.ram_estimate_bytes)} RAM\n    {_shown(m.path)}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from desktop.services.integrity import check, repair

    workspace = _workspace(writes=args.repair)
    report = repair(workspace) if args.repair else check(workspace)
    if args.json:
        _emit_json(report.model_dump(exclude={"repaired"}))
    else:
        for problem in report.problems:
            subject = f"{_shown(problem.path)}: " if problem.path else ""
            _say(f"  {_shown(problem.kind)}: {subject}{_shown(problem.detail)}"
                + (f" ({problem.count})" if problem.count > 1 else ""))
        _say("The index is consistent." if report.ok else
              "Problems found" + (" after repair." if args.repair else "; run `hearth check --repair`."))
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


LOCAL = "local"


def cmd_backends(args: argparse.Namespace) -> int:
    """Show the backends, or change them: every server named is checked (reachable, the right protocol,
    the token or key accepted, vectors the embedder matches) before the settings are saved."""
    from desktop.core.settings import describe_validation_error
    from desktop.services.backend_check import check_backends
    from desktop.services.home import Home

    home = Home()
    changes = _backend_changes(args)
    if not changes:
        return _show_backends(args, home.settings.value.backends, model=None)
    try:
        settings = home.settings.value.updated(backends=changes)
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc)) from None
    checked = check_backends(home.data_dir, home.models_dir, settings)
    home.save_settings(settings)
    return _show_backends(args, settings.backends, model=checked.model)


def _backend_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.vectors is not None:
        changes["vector_server"] = None if args.vectors == LOCAL else args.vectors
    if args.model is not None:
        changes["model_server"] = None if args.model == LOCAL else args.model
    options = {"vector_token": args.token, "collection": args.collection, "model_api_key": args.api_key,
               "model_name": args.model_name}
    changes |= {name: _secret(value) for name, value in options.items() if value is not None}
    return changes


def _secret(value: str) -> str | None:
    """'-' reads the value from standard input (a token on the command line shows in the process list);
    an empty one clears it."""
    value = sys.stdin.readline().strip() if value == "-" else value
    return value or None


def _show_backends(args: argparse.Namespace, backends: Any, *, model: str | None) -> int:
    shown = BackendsJson(
        vector_server=backends.vector_server, collection=backends.collection, model_server=backends.model_server,
        model=model or backends.model_name, remote=outside_machine(backends),
    )
    if args.json:
        _emit_json(shown.model_dump())
        return EXIT_OK
    vectors = shown.vector_server or "this computer (embedded)"
    collection = f", collection {shown.collection or 'named after this library'}" if shown.vector_server else ""
    _say(f"Vectors: {_shown(vectors)}{_shown(collection)}")
    served = f" ({shown.model})" if shown.model else ""
    _say(f"Model:   {_shown(shown.model_server or 'this computer (the local model host)')}{_shown(served)}")
    _say(f"Network: {_shown('; '.join(shown.remote) or OFFLINE)}")
    return EXIT_OK


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve the library to other apps over stdio (Model Context Protocol), read-only."""
    from desktop.mcp_server import serve
    from desktop.services.home import Home

    serve(Home())
    return EXIT_OK


# -- parser -----------------------------------------------------------------------------------
def _answer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-rag", action="store_true", help="plain chat, without your files")
    parser.add_argument("--model", help="a .gguf path, or a model in the models folder")
    parser.add_argument("--force", action="store_true", help="load the model even if memory looks short")
    parser.add_argument("--only", action="append", metavar="PATH",
                        help="answer only from documents at or below PATH (repeatable)")
    parser.add_argument("--drafts", type=int, metavar="N",
                        help=f"careful answers: write N drafts (1-{MAX_DRAFTS}) of an answer from your files and keep "
                             "the one they support best; N times slower (default: the settings' drafts per answer)")
    parser.add_argument("--json", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hearth", description="Hearth: answers from your own files, offline.")
    parser.add_argument("--version", action="version", version=f"Hearth {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    index = commands.add_parser("index", help="add files or folders to the index, or refresh them")
    index.add_argument("paths", nargs="+", metavar="PATH")
    index.add_argument("--json", action="store_true")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.set_defaults(run=cmd_index)

    search = commands.add_parser("search", help="find passages")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=None, help="how many passages")
    search.add_argument("--mode", choices=["hybrid", "vector", "keyword"])
    search.add_argument("--json", action="store_true")
    search.set_defaults(run=cmd_search)

    forget = commands.add_parser("forget", help="remove files or folders from the index")
    forget.add_argument("paths", nargs="+", metavar="PATH")
    forget.set_defaults(run=cmd_forget)

    status = commands.add_parser("status", help="what is indexed")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=cmd_status)

    evaluate = commands.add_parser("eval", help="measure retrieval (or, with --answers, answers) against question sets")
    evaluate.add_argument("questions", metavar="QA.jsonl", nargs="*", help="question files, each with its --root")
    evaluate.add_argument("--root", action="append", help="folder a question file's 'relevant' paths are in")
    evaluate.add_argument("--sets", metavar="SETS.toml", help="[[set]] tables with questions, root and name")
    evaluate.add_argument("--mode", choices=RETRIEVAL_MODES)
    evaluate.add_argument("--compare", nargs=2, metavar=("A", "B"),
                          help="compare two retrieval modes (hybrid, vector, keyword) on the same questions, or "
                               "with --answers two answer pipelines (model-only, tagged, numbered, careful)")
    evaluate.add_argument("--against", metavar="DATA_FOLDER",
                          help="compare with another data folder's index (other embedder or passage settings), "
                               "question by question, each in its own search mode")
    evaluate.add_argument("--answers", action="store_true",
                          help="score the answers themselves (questions need 'answer' fields): asks the model")
    evaluate.add_argument("--model", help="with --answers: a .gguf path, or a model in the models folder")
    evaluate.add_argument("--max-tokens", type=int, default=160, help="with --answers: longest answer (tokens)")
    evaluate.add_argument("--limit", type=int, help="with --answers: only the first N questions of each set")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_eval)

    ask = commands.add_parser("ask", help="ask a question about your files")
    ask.add_argument("question")
    ask.add_argument("--conversation", type=int, help="continue this conversation")
    ask.add_argument("--agent", action="store_true",
                     help="let the assistant use tools (search, read, calculate, dates, notes) before answering")
    ask.add_argument("--approve", action="store_true",
                     help="with --agent: let writing tools (create_note) run; without it they are refused")
    _answer_options(ask)
    ask.set_defaults(run=cmd_ask)

    regenerate = commands.add_parser("regenerate", help="answer a conversation's last question again")
    regenerate.add_argument("conversation", type=int, help="the conversation (see `hearth chats list`)")
    _answer_options(regenerate)
    regenerate.set_defaults(run=cmd_regenerate)

    summarize = commands.add_parser("summarize", help="summarise a whole document, citing its pages")
    summarize.add_argument("paths", nargs=1, metavar="PATH")
    extract = commands.add_parser("extract", help="list every date, amount, person, deadline (or TEXT) in a document")
    extract.add_argument("paths", nargs=1, metavar="PATH")
    extract.add_argument("--what", required=True, metavar="dates|amounts|people|deadlines|TEXT")
    compare = commands.add_parser("compare", help="compare two documents, citing their pages")
    compare.add_argument("paths", nargs=2, metavar="PATH")
    for document_command in (summarize, extract, compare):
        document_command.add_argument("--model", help="a .gguf path, or a model in the models folder")
        document_command.add_argument("--json", action="store_true")
        document_command.set_defaults(run=cmd_document_task)

    chats = commands.add_parser("chats", help="list, show or export conversations")
    chats.add_argument("action", choices=["list", "show", "export"])
    chats.add_argument("id", nargs="?", type=int)
    chats.add_argument("--all", action="store_true", help="export every conversation")
    chats.add_argument("--format", choices=["md", "json"], default="md")
    chats.add_argument("--search", help="with list: only titles containing this")
    chats.add_argument("--json", action="store_true")
    chats.set_defaults(run=cmd_chats)

    check = commands.add_parser("check", help="verify that the index stores agree; --repair mends them")
    check.add_argument("--repair", action="store_true")
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=cmd_check)

    backends = commands.add_parser(
        "backends", help="show or choose where vectors are kept and which model answers (this computer or servers)"
    )
    backends.add_argument("--vectors", metavar="URL|local", help="a Chroma server (http://host:8000) or 'local'")
    backends.add_argument("--token", metavar="TOKEN|-", help="the Chroma server's token ('-': read from stdin)")
    backends.add_argument("--collection", metavar="NAME", help="this library's collection on the Chroma server")
    backends.add_argument("--model", metavar="URL|local",
                          help="an OpenAI-compatible server's base URL (http://host:8080/v1) or 'local'")
    backends.add_argument("--api-key", metavar="KEY|-", help="the model server's API key ('-': read from stdin)")
    backends.add_argument("--model-name", metavar="NAME", help="the server's model (default: the first it lists)")
    backends.add_argument("--json", action="store_true")
    backends.set_defaults(run=cmd_backends)

    feedback = commands.add_parser("feedback", help="thumbs up or down on an answer (its message id)")
    feedback.add_argument("id", type=int)
    feedback.add_argument("value", choices=["up", "down", "clear"])
    feedback.add_argument("--json", action="store_true")
    feedback.set_defaults(run=cmd_feedback)

    insights = commands.add_parser("insights", help="answer timings, feedback, changes and query drift")
    insights.add_argument("--json", action="store_true")
    insights.set_defaults(run=cmd_insights)

    topics = commands.add_parser("topics", help="the library's topics (a map), and drift of the last indexing run")
    topics.add_argument("--json", action="store_true")
    topics.add_argument("--points", action="store_true", help="with --json: the map's points too")
    topics.add_argument("--drift", action="store_true", help="also test the last run's passages for drift")
    topics.add_argument("--rebuild", action="store_true", help="find the topics again, not incrementally")
    topics.set_defaults(run=cmd_topics)

    duplicates = commands.add_parser("duplicates", help="documents indexed twice: the same text in two files")
    duplicates.add_argument("--json", action="store_true")
    duplicates.set_defaults(run=cmd_duplicates)

    mcp = commands.add_parser("mcp", help="serve the library to other apps (MCP over stdio; read-only)")
    mcp.set_defaults(run=cmd_mcp)

    models = commands.add_parser("models", help="list the chat models")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=cmd_models)
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; `eval` takes question files between its options (A.jsonl --root RA B.jsonl --root RB)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "eval" and not any(e.startswith("-") for e in extra):
        args.questions += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    enforce_offline()
    try:
        args = _parse(argv)
        if not getattr(args, "run", None):
            build_parser().print_help()
            return EXIT_OK
        from desktop.core import paths
        from desktop.core.logs import setup_logging
        from desktop.core.private import private_umask, secure_data_dir

        with private_umask():  # what this run writes (SQLite, Chroma, logs) is the user's alone
            data_dir = paths.data_dir()
            setup_logging(data_dir)
            secure_data_dir(data_dir)
            return int(args.run(args))
    except HearthError as exc:
        _say(f"hearth: {_shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("hearth: stopped. Work done so far is kept; run the same command to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback in front of a user; the log has it
        log.exception("unexpected error")
        _say(f"hearth: unexpected error: {_shown(exc)} (details in the log file)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
