"""The figures a sentence states: numbers, codes and versions, each a word holding a digit.

A sentence can read like a passage and still get its figure wrong: "the inspector logs gauge G33 as
R275" against a passage saying R231 scored as supported, since most of its words and its meaning
match. So a passage supports a sentence only if it holds every figure the sentence states (the
question's own figures aside): a wrong number, date or code is not found in the files.
"""

from __future__ import annotations

import re

_FIGURE = re.compile(r"\w*\d(?:[\w.:/-]*\w)?")
_GROUPING = re.compile(r"(?<=\d)[,\u00a0\u202f'’](?=\d{3}\b)")  # 32,767 and 32 767 are 32767
_LIST_NUMBER = re.compile(r"^\s*\d{1,3}[.)]\s")  # "1. Rollback journals" states no figure
_TERMINAL_CODES = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)")  # not text
_MAN_SECTION = re.compile(r"(?<=\w)[(\[]\d[)\]]")  # nor does git-rebase(1)
_JOINS = re.compile(r"[-/:_]")  # 2024-01-30 holds 2024; sqlite3_open holds sqlite3
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_WORD = re.compile(r"[a-z]+")


def figures(text: str) -> set[str]:
    """Each figure of ``text``, lower-cased, its digits ungrouped."""
    text = _TERMINAL_CODES.sub("", _LIST_NUMBER.sub("", text))
    text = _GROUPING.sub("", _MAN_SECTION.sub("", text.casefold()))
    return {match.group(0) for match in _FIGURE.finditer(text)}


def held(source: str, question: str = "") -> set[str]:
    """The figures ``source`` and ``question`` hold, with their parts (a date holds its year) and the
    source's number words ("ten minutes" holds 10): what ``unstated`` checks a sentence against."""
    found = figures(source) | figures(question)
    found |= {part for figure in found for part in _JOINS.split(figure)}
    return found | {_NUMBER_WORDS[word] for word in _WORD.findall(source.casefold()) if word in _NUMBER_WORDS}


def unstated(sentence: str, held_figures: set[str]) -> set[str]:
    """The figures of ``sentence`` not in ``held_figures``. A figure joined of parts (a date, a name with a
    number) is held if each part holding a digit is; the sentence's number words state nothing ("one of
    them")."""
    return {
        figure for figure in figures(sentence)
        if figure not in held_figures
        and not all(part in held_figures for part in _JOINS.split(figure) if _has_digit(part))
    }


def _has_digit(text: str) -> bool:
    return any(character.isdigit() for character in text)
