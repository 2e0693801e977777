"""A document task's result as people read it: Markdown with citations for the chat, plain lines
for the terminal. Text from documents and models is written literally, never as markup."""

from __future__ import annotations

from pathlib import Path

from desktop.core.document_task import TaskKind
from desktop.core.markup import escape_markdown
from desktop.core.types import Citation
from desktop.services.document_tasks import ResultItem, TaskResult

NOT_FOUND = "not found in the document"


def where(item: ResultItem) -> str:
    """"thesis.pdf, page 3", or the section's heading for a document without pages."""
    place = f", page {item.page}" if item.page is not None else (f", {item.heading}" if item.heading else "")
    return f"{Path(item.path).name}{place}"


def result_markdown(result: TaskResult) -> tuple[str, list[Citation]]:
    """The chat message: a heading, one line per item with its citation [n], and what to know about it."""
    numbers: dict[tuple[str, int | None, str | None], int] = {}
    lines = [f"**{escape_markdown(result.task.title())}**", ""]
    for item in result.items:
        text = escape_markdown(item.text)
        if not item.found:
            lines.append(f"- {text} ({NOT_FOUND})")
            continue
        n = numbers.setdefault((item.path, item.page, item.heading), len(numbers) + 1)
        lines.append(f"- {text} [{n}]")
    if not result.items:
        lines.append(_nothing(result))
    if not result.complete:
        lines += ["", "*Stopped: this is what was read so far. Run it again to continue.*"]
    citations = [Citation(n=n, path=path, page=page, heading=heading) for (path, page, heading), n in numbers.items()]
    return "\n".join(lines), citations


def result_lines(result: TaskResult) -> list[str]:
    """The terminal's text: each item followed by where it is."""
    lines = [result.task.title()]
    lines += [f"  - {item.text} ({where(item) if item.found else NOT_FOUND})" for item in result.items]
    if not result.items:
        lines.append(f"  {_nothing(result)}")
    return lines


def _nothing(result: TaskResult) -> str:
    if result.task.kind == TaskKind.EXTRACT:
        return f"No {result.task.what or 'items'} found."
    return "The model wrote nothing usable about this document."
