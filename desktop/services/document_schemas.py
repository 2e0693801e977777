"""What the model writes for whole-document work, as pydantic models turned into JSON schemas.

The model host turns a schema into a llama.cpp grammar, so even a tiny model writes valid JSON,
and every point or item names the numbered source it came from: the schema allows only the
numbers of the sources in that prompt. An answer cut short by its token budget is read up to its
last complete entry; entries beyond a bound are not read at all, so no answer, however long, makes
the work unbounded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

MAX_POINTS = 6  # per answer: points of a part, or sentences of a summary
MAX_ITEMS = 24  # extracted items per part
MAX_TEXT = 300  # characters of one point
MAX_VALUE = 80  # characters of one extracted item: a date, an amount, a name
SALVAGE_TRIES = 200  # cut points tried when an answer was cut short


class Point(BaseModel):
    source: int
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class Points(BaseModel):
    """Main points of some sources (a summary's sentences when it is the last step)."""

    points: list[Point] = Field(min_length=1, max_length=MAX_POINTS)


class Found(BaseModel):
    source: int
    value: str = Field(min_length=1, max_length=MAX_VALUE)


class Findings(BaseModel):
    """Items extracted from some sources, each as written there."""

    # At least one: a small model would otherwise always answer "[]"; an item that is not in the
    # sources is left out afterwards.
    items: list[Found] = Field(min_length=1, max_length=MAX_ITEMS)


Answer = type[Points] | type[Findings]


def schema_for(model: Answer, sources: Sequence[int]) -> str:
    """The model's JSON schema, with ``source`` allowed only the numbers shown in this prompt."""
    schema: dict[str, Any] = model.model_json_schema()
    for definition in schema.get("$defs", {}).values():
        if "source" in definition.get("properties", {}):
            definition["properties"]["source"]["enum"] = sorted(set(sources))
    return json.dumps(schema)


def parse_answer(text: str, model: Answer, sources: Sequence[int], limit: int) -> list[Point]:
    """The valid entries of an answer (at most ``limit``), naming only ``sources``, as points (an item's
    value is its text); never raises."""
    data = _load(text)
    raw = data.get("points" if model is Points else "items") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return []
    allowed = set(sources)
    kept: list[Point] = []
    for value in raw[:limit]:
        try:
            parsed = Point.model_validate(value) if model is Points else _as_point(Found.model_validate(value))
        except ValidationError:
            continue
        tidy = _tidy(parsed.text)
        if parsed.source in allowed and tidy:
            kept.append(Point(source=parsed.source, text=tidy))
    return kept


def _as_point(found: Found) -> Point:
    return Point(source=found.source, text=found.value)


def _tidy(text: str) -> str:
    """One line, without the JSON punctuation a small model sometimes writes inside the string."""
    return " ".join(text.split()).strip(' ,{}[]"')


def _load(text: str) -> Any:
    """JSON, or the longest prefix of it closed after a complete entry (an answer cut by max_tokens)."""
    try:
        return json.loads(text, strict=False)  # strict=False: a line break inside a string is no reason to lose it
    except ValueError:
        pass
    ends = [i for i, c in enumerate(text) if c == "}"]
    for end in reversed(ends[-SALVAGE_TRIES:]):
        try:
            return json.loads(text[: end + 1] + "]}", strict=False)
        except ValueError:
            continue
    return None
