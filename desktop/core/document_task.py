"""A whole-document task as data: what the chat, the window's menus and the CLI ask services for."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from pydantic import Field

from desktop.core.errors import UsageError
from desktop.core.types import Frozen

EXTRACTS = {
    "dates": "date (a day, a month or a year), written as in the source",
    "amounts": "amount of money or quantity with its unit, written as in the source",
    "people": "name of a person, written as in the source",
    "deadlines": "deadline: a date or time by which something must be done, and what",
}


class TaskKind(StrEnum):
    SUMMARY = "summary"
    EXTRACT = "extract"
    COMPARE = "compare"


class DocumentTask(Frozen):
    kind: TaskKind
    paths: tuple[str, ...] = Field(min_length=1, max_length=2)
    what: str | None = None  # for EXTRACT: a key of EXTRACTS, or the person's own words

    def request(self) -> str:
        """The words that would ask for it in the chat, shown there as the question."""
        names = [Path(p).name for p in self.paths]
        if self.kind == TaskKind.SUMMARY:
            return f"Summarise {names[0]}"
        if self.kind == TaskKind.COMPARE:
            return f"Compare {names[0]} and {names[1]}"
        return f"List every {self.what} in {names[0]}"

    def title(self) -> str:
        """The heading of its result."""
        names = [Path(p).name for p in self.paths]
        if self.kind == TaskKind.SUMMARY:
            return f"Summary of {names[0]}"
        if self.kind == TaskKind.COMPARE:
            return f"{names[0]} compared with {names[-1]}"
        return f"{(self.what or 'items').capitalize()} in {names[0]}"


def document_task(kind: TaskKind, paths: Sequence[str | Path], what: str | None = None) -> DocumentTask:
    """A task, checked: the right number of documents, and something to extract."""
    wanted = 2 if kind == TaskKind.COMPARE else 1
    if len(paths) != wanted:
        raise UsageError(f"A {kind} takes {wanted} document{'s' if wanted > 1 else ''}.")
    if kind == TaskKind.EXTRACT:
        what = " ".join((what or "").split())
        if not what:
            raise UsageError("Say what to list: dates, amounts, people, deadlines, or your own words.")
        what = what.lower() if what.lower() in EXTRACTS else what[:200]
    return DocumentTask(kind=kind, paths=tuple(str(Path(p).absolute()) for p in paths), what=what)


class TaskProgress(Frozen):
    step: str  # what is being done, for people
    done: int  # steps finished
    total: int  # steps planned (combining may take a few more)
    eta_s: float | None = None  # None until a step has been timed
