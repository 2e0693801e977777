"""Whether an extracted item is the kind of thing that was asked for.

A small model asked for dates also lists names, headings and whole sentences, and a document's
hostile text can steer it into copying an instruction that happens to hold a date. Each built-in
kind is checked by its shape: short, and holding what a date, an amount or a name is made of.
Items asked for in the person's own words are not checked: nothing says what shape they take.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_MONTHS = (
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august "
    "september october november december"
)
_WEEKDAYS = "mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday thursday friday saturday sunday"
_TIME_WORDS = "today tomorrow tonight noon midnight hour hours day days week weeks month months year years"
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million billion trillion dozen half quarter"
)
_WORDS = re.compile(r"[^\W\d_]+")

MAX_WORDS = {"dates": 8, "amounts": 8, "people": 6, "deadlines": 25}


def _holds(vocabulary: str) -> Callable[[str], bool]:
    known = frozenset(vocabulary.split())
    return lambda text: any(word.casefold() in known for word in _WORDS.findall(text))


_names_month = _holds(f"{_MONTHS} {_WEEKDAYS}")
_names_time = _holds(f"{_MONTHS} {_WEEKDAYS} {_TIME_WORDS}")
_names_number = _holds(_NUMBER_WORDS)


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _is_name(text: str) -> bool:
    """No digits, and capitalised where the script has capitals (a name written as in the source)."""
    words = _WORDS.findall(text)
    cased = [word for word in words if word.lower() != word.upper()]
    return not _has_digit(text) and bool(words) and (not cased or any(word[0].isupper() for word in cased))


# A year, or day, month and year in figures (30/06/2024, 2024-06-30): not any number, so that an
# amount ("1,250") is not taken for a date.
_FIGURES_OF_DATE = re.compile(r"(?<![\d.,])[12]\d{3}(?![\d.,]\d)|\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b")


def _is_date(text: str) -> bool:
    currency = any(unicodedata.category(c) == "Sc" for c in text)
    return not currency and (_names_month(text) or bool(_FIGURES_OF_DATE.search(text)))


_SHAPES: dict[str, Callable[[str], bool]] = {
    "dates": _is_date,
    "amounts": lambda text: _has_digit(text) or _names_number(text),
    "people": _is_name,
    "deadlines": lambda text: _has_digit(text) or _names_time(text),
}

DESCRIBED = {"dates": "dates", "amounts": "amounts", "people": "names of people", "deadlines": "deadlines"}


def fits(what: str, text: str) -> bool:
    """Whether ``text`` can be an item of kind ``what`` (always, for a kind in the person's own words)."""
    shape = _SHAPES.get(what)
    return shape is None or (len(text.split()) <= MAX_WORDS[what] and shape(text))
