"""Where the words of a passage read by OCR sit on their page, kept small.

Such a passage keeps one box per word of its text (its runs of non-space characters, in order) as four
16-bit fractions of the page's width and height (left, top, right, bottom): 8 bytes a word, valid at
whatever scale the page is drawn. OCR text puts a space or line break between words and none inside
one, so a passage cut anywhere still has exactly one box per word it shows.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Sequence

Box = tuple[float, float, float, float]  # left, top, right, bottom; 0..1 of the page

_SCALE = 65535
_BOX = struct.Struct("<4H")
_WORD = re.compile(r"\S+")


def pack(boxes: Iterable[Box]) -> bytes:
    return b"".join(_BOX.pack(*(round(min(1.0, max(0.0, v)) * _SCALE) for v in box)) for box in boxes)


def unpack(data: bytes) -> list[Box]:
    usable = len(data) - len(data) % _BOX.size
    return [(a / _SCALE, b / _SCALE, c / _SCALE, d / _SCALE) for a, b, c, d in _BOX.iter_unpack(data[:usable])]


def count(data: bytes) -> int:
    return len(data) // _BOX.size


def word_spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in _WORD.finditer(text)]


def slice_words(data: bytes, first: int, last: int) -> bytes:
    """The boxes of words ``first`` to ``last`` (excluded)."""
    return data[first * _BOX.size : last * _BOX.size]


def boxes_for(text: str, data: bytes | None, spans: Sequence[tuple[int, int]] = ()) -> tuple[Box, ...]:
    """The boxes of the words of ``text`` that overlap ``spans`` (offsets into it; none: every word);
    () when there are no boxes or they do not belong to this text."""
    words = word_spans(text)
    if not data or count(data) != len(words):
        return ()
    boxes = unpack(data)
    if not spans:
        return tuple(boxes)
    return tuple(box for (start, end), box in zip(words, boxes, strict=True)
                 if any(start < stop and end > begin for begin, stop in spans))
