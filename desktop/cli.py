"""The ``hearth`` command. With ``--json`` a command prints exactly one JSON document on stdout;
logs and progress go to stderr. Exit codes: 0 ok, 1 some files failed, 2 usage error."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from desktop import __version__
from desktop.core.errors import HearthError, UsageError
from desktop.core.offline import enforce_offline

log = logging.getLogger("hearth.cli")

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class SearchResultJson(BaseModel):
    path: str
    page: int | None
    heading: str | None
    score: float
    text: str


class StatusJson(BaseModel):
    documents: int
    chunks: int
    failed: int
    embedder: str
    data_dir: str


class CitationJson(BaseModel):
    n: int
    path: str
    page: int | None


class AskJson(BaseModel):
    answer: str
    citations: list[CitationJson]
    passages: list[dict[str, Any]]
    conversation: int
    timings: dict[str, Any]


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `hearth {self.prog.split()[-1]} --help`)"
                         if " " in self.prog else f"{message} (see `hearth --help`)")


def _emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")


def _workspace(*, writes: bool = False) -> Any:
    """``writes``: the command changes the data folder, so it takes the folder's lock."""
    from desktop.services.workspace import Workspace

    return Workspace(exclusive=writes)


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
        print(
            f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed; {report.chunks} passages embedded."
        )
        for failure in report.failed:
            print(f"  failed: {failure.path}: {failure.reason}")
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
        print("No matching passages.")
    for number, hit in enumerate(hits, start=1):
        where = f" p.{hit.page}" if hit.page else (f" · {hit.heading}" if hit.heading else "")
        snippet = " ".join(hit.text.split())[:240]
        print(f"[{number}] {hit.path}{where}  ({hit.score:.3f}, {'+'.join(hit.retrievers)})\n    {snippet}")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from desktop.services.indexing import Indexer

    removed = Indexer(_workspace(writes=True)).forget([Path(p) for p in args.paths])
    print(f"{removed} documents removed from the index.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    workspace = _workspace()
    counts = workspace.registry.counts()
    status = StatusJson(
        documents=counts["documents"], chunks=counts["chunks"], failed=counts["failed"],
        embedder=workspace.settings.embedder, data_dir=str(workspace.data_dir),
    )
    if args.json:
        _emit_json(status.model_dump())
        return EXIT_OK
    print(f"Data folder: {status.data_dir}")
    print(f"Documents:   {status.documents} ({counts['indexed']} indexed, {status.failed} failed, "
          f"{counts['pending']} unfinished)")
    print(f"Passages:    {status.chunks}")
    print(f"Embedder:    {status.embedder}")
    if workspace.rebuild_needed:
        print("The index was built with other settings: run `hearth index` to rebuild it.")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from desktop.services import evaluation
    from desktop.services.retrieval import Mode, Retriever

    questions = evaluation.load_questions(Path(args.questions))
    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"No such folder: {root}")
    retriever = Retriever(_workspace())
    modes = [Mode(m) for m in args.compare] if args.compare else [Mode(args.mode) if args.mode else None]

    def searcher(mode: Mode | None) -> Callable[[str, int], list[Any]]:
        return lambda question, k: retriever.search(question, k, mode=mode)

    runs = [evaluation.run_questions(questions, root, searcher(mode)) for mode in modes]
    if not args.compare:
        summary = evaluation.summarize(runs[0])
        if args.json:
            _emit_json(summary)
        else:
            _print_summary("", summary)
            _print_kinds({"": evaluation.by_kind(runs[0])})
        return EXIT_OK
    names = [str(m) for m in modes]
    difference = evaluation.compare(runs[0], runs[1])
    result = {
        "n": len(questions),
        "configs": {name: evaluation.summarize(run) for name, run in zip(names, runs, strict=True)},
        "difference": {metric: figures.model_dump() for metric, figures in difference.items()},
        "by_kind": {name: evaluation.by_kind(run) for name, run in zip(names, runs, strict=True)},
    }
    if args.json:
        _emit_json(result)
        return EXIT_OK
    for name in names:
        _print_summary(name, result["configs"][name])  # type: ignore[index]
    _print_kinds(result["by_kind"])  # type: ignore[arg-type]
    print(f"\n{names[1]} − {names[0]} (paired, {len(questions)} questions):")
    for metric, figures in difference.items():
        low, high = figures.ci95
        print(f"  {metric:<10} {figures.difference:+.3f}  95% CI [{low:+.3f}, {high:+.3f}]  "
              f"p={figures.p_value:.3f}  better on {figures.better}, worse on {figures.worse}: {figures.verdict()}")
    return EXIT_OK


def _print_summary(name: str, summary: dict[str, Any]) -> None:
    title = f"{name}: " if name else ""
    print(f"{title}{summary['n']} questions")
    for metric in ("recall@1", "recall@5", "recall@10", "mrr"):
        low, high = summary["ci95"][metric]
        print(f"  {metric:<10} {summary[metric]:.3f}  95% CI [{low:.3f}, {high:.3f}]")


def _print_kinds(tables: dict[str, dict[str, dict[str, float]]]) -> None:
    print("\nby kind        " + "".join(f"{name or 'recall@5':>12}" for name in tables))
    kinds = next(iter(tables.values()))
    for kind in kinds:
        cells = "".join(f"{table[kind]['recall@5']:>12.3f}" for table in tables.values())
        print(f"  {kind:<12} {cells}   (n={kinds[kind]['n']:.0f}, recall@5)")


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
        self._bar.set_postfix_str(f"{progress.chunks_done} passages", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _engine(model: str | None) -> Any:
    from desktop.llm.host import ModelHost
    from desktop.services.answering import Answerer
    from desktop.services.conversations import ConversationStore
    from desktop.services.models import resolve_model

    workspace = _workspace(writes=True)
    answerer = Answerer(
        workspace, ConversationStore(workspace.data_dir / "conversations.sqlite3"),
        ModelHost(data_dir=workspace.data_dir),
    )
    if model:
        answerer.model_path = resolve_model(workspace, model)
    return answerer


def cmd_ask(args: argparse.Namespace) -> int:
    from desktop.services.answering import AnswerFinished, AnswerStarted, AnswerToken
    from desktop.services.library import documents_in

    if not args.question.strip():
        raise UsageError("The question is empty.")
    answerer = _engine(args.model)
    if args.force:
        answerer.use_model(answerer.model_path, force=True)
    finished = None
    try:
        scope = documents_in(answerer.workspace, [Path(p) for p in args.only]) if args.only else None
        for event in answerer.ask(args.question, conversation_id=args.conversation, rag=not args.no_rag,
                                  document_ids=scope):
            if isinstance(event, AnswerToken) and not args.json:
                sys.stdout.write(event.text)
                sys.stdout.flush()
            elif isinstance(event, AnswerFinished):
                finished = event.message
            elif isinstance(event, AnswerStarted) and not args.json:
                log.info("conversation %s", event.conversation_id)
    except KeyboardInterrupt:
        answerer.cancel()
        raise
    finally:
        answerer.host.close()
    assert finished is not None
    if args.json:
        _emit_json(AskJson(
            answer=finished.text,
            citations=[CitationJson(n=c.n, path=c.path, page=c.page) for c in finished.citations],
            passages=[p.model_dump() for p in finished.passages],
            conversation=finished.conversation_id,
            timings=finished.timings.model_dump() if finished.timings else {},
        ).model_dump())
        return EXIT_OK
    print()
    if finished.citations:
        print("\nSources:")
        for citation in finished.citations:
            where = f", page {citation.page}" if citation.page else ""
            print(f"  [{citation.n}] {citation.path}{where}")
    for note in finished.notes:
        print(f"  ({note})")
    if finished.timings and finished.timings.tokens_per_second:
        print(f"  ({finished.timings.generated_tokens} tokens, {finished.timings.tokens_per_second:.0f} tokens/s;"
              f" conversation {finished.conversation_id})", file=sys.stderr)
    return EXIT_OK


def cmd_chats(args: argparse.Namespace) -> int:
    from desktop.services import export
    from desktop.services.conversations import ConversationStore

    workspace = _workspace()
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    if args.action == "list":
        conversations = store.list(args.search)
        if args.json:
            _emit_json([c.model_dump() for c in conversations])
        for conversation in [] if args.json else conversations:
            print(f"{conversation.id:>5}  {conversation.title}  ({conversation.messages} messages)")
        return EXIT_OK
    if args.action == "show":
        if args.id is None:
            raise UsageError("Which conversation? `hearth chats show ID`")
        print(export.export_markdown(store, args.id))
        return EXIT_OK
    if args.id is None and not args.all:
        raise UsageError("Give a conversation id or --all.")
    ids = [c.id for c in store.list()] if args.all else [args.id]
    if args.format == "json":
        documents = [export.export_json(store, i).model_dump(mode="json") for i in ids]
        _emit_json(documents if args.all else documents[0])
    else:
        print("\n\n---\n\n".join(export.export_markdown(store, i) for i in ids))
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from desktop.llm.gguf_info import format_gb
    from desktop.services.models import available_models

    models = available_models(_workspace())
    if args.json:
        _emit_json([m.model_dump(exclude={"chat_template", "control_tokens"}) for m in models])
        return EXIT_OK
    if not models:
        print("No models found. Add .gguf files to the models folder.")
    for m in models:
        params = f"{m.parameters / 1e6:.0f}M" if m.parameters else "?"
        print(f"{m.name}\n    {m.architecture}, {params} parameters, {m.quantization or '?'}, "
              f"{format_gb(m.file_size)} on disk, context {m.context_length or '?'}, "
              f"needs about {format_gb(m.ram_estimate_bytes)} RAM\n    {m.path}")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from desktop.services.integrity import check, repair

    workspace = _workspace(writes=args.repair)
    report = repair(workspace) if args.repair else check(workspace)
    if args.json:
        _emit_json(report.model_dump(exclude={"repaired"}))
    else:
        for problem in report.problems:
            subject = f"{problem.path}: " if problem.path else ""
            print(f"  {problem.kind}: {subject}{problem.detail}" + (f" ({problem.count})" if problem.count > 1 else ""))
        print("The index is consistent." if report.ok else
              "Problems found" + (" after repair." if args.repair else "; run `hearth check --repair`."))
    return EXIT_OK if report.ok else EXIT_SOME_FAILED


# -- parser -----------------------------------------------------------------------------------
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

    evaluate = commands.add_parser("eval", help="measure retrieval against a question set")
    evaluate.add_argument("questions", metavar="QA.jsonl")
    evaluate.add_argument("--root", required=True, help="folder the 'relevant' paths are relative to")
    evaluate.add_argument("--mode", choices=["hybrid", "vector", "keyword"])
    evaluate.add_argument("--compare", nargs=2, metavar=("A", "B"), choices=["hybrid", "vector", "keyword"],
                          help="compare two retrieval modes on the same questions")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_eval)

    ask = commands.add_parser("ask", help="ask a question about your files")
    ask.add_argument("question")
    ask.add_argument("--no-rag", action="store_true", help="plain chat, without your files")
    ask.add_argument("--model", help="a .gguf path, or a model in the models folder")
    ask.add_argument("--conversation", type=int, help="continue this conversation")
    ask.add_argument("--force", action="store_true", help="load the model even if memory looks short")
    ask.add_argument("--only", action="append", metavar="PATH",
                     help="answer only from documents at or below PATH (repeatable)")
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(run=cmd_ask)

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

    models = commands.add_parser("models", help="list the chat models")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    enforce_offline()
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "run", None):
            build_parser().print_help()
            return EXIT_OK
        from desktop.core import paths
        from desktop.core.logs import setup_logging

        setup_logging(paths.data_dir())
        return int(args.run(args))
    except HearthError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hearth: stopped. Work done so far is kept; run the same command to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback in front of a user; the log has it
        log.exception("unexpected error")
        print(f"hearth: unexpected error: {exc} (details in the log file)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
