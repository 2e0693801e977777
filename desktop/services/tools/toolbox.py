"""The assistant's tools: each one's arguments as a pydantic model, what it does, whether it writes.

A call is checked at the boundary (``parse_call``): its size, its JSON, the tool's name and the
arguments' types and bounds, each failure a short message the model is shown instead of a result.
Results are bounded text; a library tool also returns the passages it showed, so the final answer
can cite them, and any other tool's result is itself a source ("tool:calculate").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from desktop.core.types import Frozen, Passage
from desktop.services.tools import calculator, dates, notes
from desktop.services.tools.library_access import MAX_LISTED, Library
from desktop.store.registry import StoredChunk

MAX_CALL_CHARS = 64_000  # a call longer than this is refused unread (a note is at most 20,000 characters)
MAX_RESULT_CHARS = 1_800
SNIPPET_CHARS = 320
ANSWER = "answer"  # not a tool: the model's way to say it has what it needs
TOOL_SOURCE = "tool:"  # the path of a source that is a tool's result, not a file


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SearchLibrary(Arguments):
    query: str = Field(min_length=1, max_length=300)


class ReadDocument(Arguments):
    path: str = Field(min_length=1, max_length=1000, description="a file name or path from the library")
    part: int = Field(1, ge=1, le=10_000)


class OpenInViewer(Arguments):
    path: str = Field(min_length=1, max_length=1000, description="a file name or path from the library")
    page: int = Field(1, ge=1, le=100_000)


class ListDocuments(Arguments):
    contains: str = Field("", max_length=100)


class NoArguments(Arguments):
    pass


class Calculate(Arguments):
    expression: str = Field(min_length=1, max_length=calculator.MAX_EXPRESSION)


class AddDays(Arguments):
    date: str = Field(min_length=1, max_length=40)
    days: int = Field(ge=-dates.MAX_DAYS, le=dates.MAX_DAYS)


class DaysBetween(Arguments):
    start: str = Field(min_length=1, max_length=40)
    end: str = Field(min_length=1, max_length=40)


class CreateNote(Arguments):
    title: str = Field(min_length=1, max_length=notes.MAX_TITLE)
    text: str = Field(min_length=1, max_length=notes.MAX_TEXT)


@dataclass(frozen=True)
class ToolOutput:
    text: str  # what the model is shown
    passages: tuple[Passage, ...] = ()  # library passages it was shown, for the answer to cite
    is_source: bool = False  # the text itself is a fact to cite (a calculation, a date, a note written)
    opens: Passage | None = None  # a document the window shows in its viewer (the CLI prints where)


@dataclass(frozen=True)
class Tool:
    name: str
    summary: str  # one line for the model
    example: str  # its arguments' shape, with placeholders (a tiny model copies example values)
    arguments: type[Arguments]
    run: Callable[[ToolContext, Any], ToolOutput]
    writes: bool = False  # needs the user's approval


@dataclass
class ToolContext:
    library: Library
    notes_folder: Path
    today: dates.Clock = field(default=dt.date.today)


class ToolCall(Frozen):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class CallError(Frozen):
    """A call that cannot be run; ``message`` is what the model is told."""

    tool: str
    arguments: dict[str, Any]
    message: str


def parse_call(text: str) -> ToolCall | CallError:
    """The model's JSON as a call whose arguments fit its tool, or why not (never raises)."""
    if len(text) > MAX_CALL_CHARS:
        return CallError(tool="?", arguments={"raw": text[:200]},
                         message=f"the call is longer than {MAX_CALL_CHARS} characters")
    try:
        # strict=False: llama.cpp's JSON grammar lets a raw line break into a string; the call is still sound.
        data = json.loads(text, strict=False)
    except ValueError:
        return CallError(tool="?", arguments={"raw": text[:200]},
                         message='the call is not JSON: write {"tool": NAME, "arguments": {...}}')
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        return CallError(tool="?", arguments={"raw": text[:200]}, message='the call needs "tool": NAME')
    name = data["tool"][:80]
    arguments = data.get("arguments", {})
    if not isinstance(arguments, dict):
        return CallError(tool=name, arguments={"raw": str(arguments)[:200]}, message='"arguments" must be an object')
    if name == ANSWER:
        return ToolCall(tool=ANSWER)
    tool = TOOLS.get(name)
    if tool is None:
        return CallError(tool=name, arguments=arguments,
                         message=f"there is no tool '{name}'; the tools are {', '.join(TOOLS)}")
    try:
        tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        return CallError(tool=name, arguments=arguments, message=f"wrong arguments for {name}: {_problems(exc)}")
    return ToolCall(tool=name, arguments=arguments)


def run_call(call: ToolCall, context: ToolContext) -> ToolOutput:
    """Run a parsed call; raises UsageError (a HearthError) with a short message the model is shown."""
    tool = TOOLS[call.tool]
    output = tool.run(context, tool.arguments.model_validate(call.arguments))
    text = output.text if len(output.text) <= MAX_RESULT_CHARS else output.text[: MAX_RESULT_CHARS - 1] + "…"
    return ToolOutput(text=text, passages=output.passages, is_source=output.is_source, opens=output.opens)


def _problems(error: ValidationError) -> str:
    shown = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        shown.append(f"{where}: {item['msg']}")
    return "; ".join(shown)


# -- the tools -------------------------------------------------------------------------------------
def _passage(chunk: StoredChunk, text: str | None = None) -> Passage:
    return Passage(
        n=0, chunk_id=chunk.id, document_id=chunk.document_id, path=chunk.path, page=chunk.page,
        heading=chunk.heading, text=text if text is not None else chunk.text, score=0.0, start=chunk.start,
        end=chunk.end,
    )


def _where(path: str, page: int | None, heading: str | None) -> str:
    return Path(path).name + (f", page {page}" if page else (f", {heading}" if heading else ""))


def _search(context: ToolContext, arguments: SearchLibrary) -> ToolOutput:
    hits = context.library.search(arguments.query)
    if not hits:
        return ToolOutput(text="no passages found")
    lines = [
        f"{i}. {_where(h.path, h.page, h.heading)}: {' '.join(h.text.split())[:SNIPPET_CHARS]}"
        for i, h in enumerate(hits, 1)
    ]
    passages = tuple(Passage.of_hit(hit, 0) for hit in hits)
    return ToolOutput(text="\n".join(lines), passages=passages)


def _read(context: ToolContext, arguments: ReadDocument) -> ToolOutput:
    document = context.library.find(arguments.path)
    part = context.library.read(document, arguments.part, part_chars=MAX_RESULT_CHARS - 200)
    header = f"{Path(document.path).name}, part {part.part} of {part.parts}:"
    return ToolOutput(text=f"{header}\n{part.text}", passages=tuple(_passage(c) for c in part.chunks))


def _open_in_viewer(context: ToolContext, arguments: OpenInViewer) -> ToolOutput:
    """Read-only: only an indexed document of the library, at a page it has, is opened."""
    document = context.library.find(arguments.path)
    chunk = context.library.at_page(document, arguments.page)
    page = arguments.page if document.pages else None
    opens = _passage(chunk) if chunk is not None else Passage(
        n=0, chunk_id=-1, document_id=document.id, path=document.path, page=page, text="", score=0.0,
    )
    where = f"at page {page} of {document.pages}" if page else "at its start"
    return ToolOutput(text=f"Opened {Path(document.path).name} {where} in the viewer for the user.", opens=opens)


def _list(context: ToolContext, arguments: ListDocuments) -> ToolOutput:
    documents = context.library.documents(arguments.contains)
    if not documents:
        return ToolOutput(text="no documents" + (f" with '{arguments.contains}' in their name"
                                                 if arguments.contains else " in the library"), is_source=True)
    lines = [f"- {Path(d.path).name} ({d.kind}{f', {d.pages} pages' if d.pages else ''})"
             for d in documents[:MAX_LISTED]]
    more = [f"... and {len(documents) - MAX_LISTED} more"] if len(documents) > MAX_LISTED else []
    return ToolOutput(text=f"{len(documents)} documents:\n" + "\n".join(lines + more), is_source=True)


def _stats(context: ToolContext, arguments: NoArguments) -> ToolOutput:
    stats = context.library.stats()
    kinds = ", ".join(f"{count} {kind}" for kind, count in stats.items() if kind not in ("documents", "passages"))
    return ToolOutput(
        text=f"The library holds {stats['documents']} documents ({kinds or 'none'}) in {stats['passages']} passages.",
        is_source=True,
    )


def _calculate(context: ToolContext, arguments: Calculate) -> ToolOutput:
    value = calculator.calculate(arguments.expression)
    return ToolOutput(text=f"{arguments.expression.strip()} = {calculator.shown(value)}", is_source=True)


def _today(context: ToolContext, arguments: NoArguments) -> ToolOutput:
    return ToolOutput(text=f"Today is {dates.described(context.today())}.", is_source=True)


def _add_days(context: ToolContext, arguments: AddDays) -> ToolOutput:
    start = dates.read_date(arguments.date, context.today())
    result = dates.add_days(start, arguments.days)
    return ToolOutput(text=f"{arguments.days} days after {start.isoformat()} is {dates.described(result)}.",
                      is_source=True)


def _days_between(context: ToolContext, arguments: DaysBetween) -> ToolOutput:
    today = context.today()
    start, end = dates.read_date(arguments.start, today), dates.read_date(arguments.end, today)
    return ToolOutput(text=f"From {start.isoformat()} to {end.isoformat()} is {(end - start).days} days.",
                      is_source=True)


def _create_note(context: ToolContext, arguments: CreateNote) -> ToolOutput:
    path = notes.write_note(context.notes_folder, arguments.title, arguments.text)
    return ToolOutput(text=f"Saved the note '{path.stem}' as {path.name} in the notes folder.", is_source=True)


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("search_library", "questions about what the user's files say", '{"query": TEXT}',
             SearchLibrary, _search),
        Tool("read_document", "read one document of the library, part by part", '{"path": FILE NAME, "part": 1}',
             ReadDocument, _read),
        Tool("list_documents", "list the documents whose file name contains a text", '{"contains": TEXT}',
             ListDocuments, _list),
        Tool("library_stats", "how many documents the library holds, by kind", "{}", NoArguments, _stats),
        Tool("calculate", "arithmetic: plus, minus, times, divided by, percentages", '{"expression": ARITHMETIC}',
             Calculate, _calculate),
        Tool("today", "today's date", "{}", NoArguments, _today),
        Tool("add_days", "the date some days after (or before, with minus) a date",
             '{"date": YYYY-MM-DD, "days": NUMBER}', AddDays, _add_days),
        Tool("days_between", "how many days from one date to another", '{"start": YYYY-MM-DD, "end": YYYY-MM-DD}',
             DaysBetween, _days_between),
        Tool("open_in_viewer", "show the user a document of the library, at a page",
             '{"path": FILE NAME, "page": 1}', OpenInViewer, _open_in_viewer),
        Tool("create_note", "save (write) a note for the user; the user approves it first",
             '{"title": TEXT, "text": TEXT}', CreateNote, _create_note, writes=True),
    )
}


def tool_source(call: ToolCall, output: ToolOutput) -> Passage:
    """A tool's result as a source the answer can cite."""
    arguments = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)[:80]}" for k, v in call.arguments.items())
    return Passage(n=0, chunk_id=-1, document_id=0, path=f"{TOOL_SOURCE}{call.tool}",
                   heading=f"{call.tool}({arguments})", text=output.text, score=0.0)

