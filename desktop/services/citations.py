"""Citations like [1] or [1, 3] in an answer, mapped to the passages the model was shown."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from desktop.core.types import Citation, Passage

# A marker names passages by short numbers: no prompt holds a million passages, and a longer run of
# digits is text, not a citation (int() would refuse one of 4,300 digits or more).
_NUMBER = r"\d{1,6}"
_MARKER = re.compile(rf"( ?)\[({_NUMBER}(?:\s*,\s*{_NUMBER})*)\]")
MARKER = _MARKER  # a citation marker, with the space before it


def marker_numbers(match: re.Match[str]) -> list[int]:
    """The passage numbers a MARKER match names."""
    return [int(n) for n in re.findall(_NUMBER, match.group(2))]


class ResolvedAnswer(NamedTuple):
    text: str  # without markers that name no given passage
    citations: list[Citation]  # in order of first mention
    passages: list[Passage]  # marked cited or not
    removed: list[int]  # invented numbers, dropped from the text


def resolve(answer: str, passages: Sequence[Passage]) -> ResolvedAnswer:
    by_number = {p.n: p for p in passages}
    cited: list[int] = []
    removed: list[int] = []

    def keep_valid(match: re.Match[str]) -> str:
        numbers = marker_numbers(match)
        valid = [n for n in numbers if n in by_number]
        removed.extend(n for n in numbers if n not in by_number)
        for n in valid:
            if n not in cited:
                cited.append(n)
        return match.group(1) + "[" + ", ".join(map(str, valid)) + "]" if valid else ""

    cleaned = _MARKER.sub(keep_valid, answer).strip()
    citations = [
        Citation(n=n, path=by_number[n].path, page=by_number[n].page, heading=by_number[n].heading)
        for n in cited
    ]
    marked = [p.model_copy(update={"cited": p.n in cited}) for p in passages]
    return ResolvedAnswer(cleaned, citations, marked, removed)
