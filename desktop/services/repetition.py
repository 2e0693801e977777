"""Ending an answer where a small model starts going round in circles.

Given room, a 135M model answering a how-to question often ends in a loop: "This is because you are
creating a new table ..." as item 6, 8, 10 and 12 of a list, until the token limit. The loop adds
nothing, and every copy is another sentence the files do not support. A sentence written a third
time ends the answer; what is kept stops before its second copy.
"""

from __future__ import annotations

import re

from desktop.services.attribution import sentence_spans

MIN_WORDS = 6  # shorter sentences ("See below.", "Yes, it does.") may well repeat
LOOP_AT = 3  # written this many times, a sentence is a loop rather than a reminder
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*•])\s+")
_ITEM_NUMBER = re.compile(r"\s*\d{1,3}[.)]\s*")
_SENTENCE_END = re.compile(r"[.!?\n]")


def _key(sentence: str) -> str | None:
    """The sentence as compared: no list marker, case, spacing or closing punctuation; None when too
    short to count."""
    words = _LIST_MARKER.sub("", sentence).rstrip(" .!?:;,").lower().split()
    return " ".join(words) if len(words) >= MIN_WORDS else None


def _ended(sentence: str) -> bool:
    """Whether the last sentence so far is finished: it ends a sentence, and is more than the "8." that
    opens the next list item."""
    return sentence.endswith((".", "!", "?")) and not _ITEM_NUMBER.fullmatch(sentence)


class RepetitionGuard:
    """Follows an answer as it streams; ``looping`` once some sentence is written LOOP_AT times,
    and then ``keep`` is where the answer should end (the start of that sentence's second copy)."""

    def __init__(self) -> None:
        self._text = ""
        self._counted = 0  # where the sentences not yet counted begin
        self._starts: dict[str, list[int]] = {}  # each sentence counted so far: where its copies start
        self.keep: int | None = None

    @property
    def looping(self) -> bool:
        return self.keep is not None

    def feed(self, piece: str) -> None:
        if self.looping:
            return
        self._text += piece
        if _SENTENCE_END.search(piece):  # only a finished sentence can be a new copy
            self._check(finished=False)

    def finish(self) -> None:
        """The answer ended: its last sentence counts too."""
        if not self.looping:
            self._check(finished=True)

    def _check(self, *, finished: bool) -> None:
        # Only the text after the sentences already counted is split: an answer is read once, not once
        # per sentence it ends.
        tail = self._text[self._counted :]
        spans = sentence_spans(tail, keep_code=True)
        if spans and not (finished or tail.endswith("\n") or _ended(tail[spans[-1].start : spans[-1].end])):
            spans = spans[:-1]  # the last sentence is still being written
        for span in spans:
            key = _key(tail[span.start : span.end])
            if key is None:
                continue
            starts = self._starts.setdefault(key, [])
            starts.append(self._counted + span.start)
            if len(starts) >= LOOP_AT:
                self.keep = starts[1]
                return
        if spans:
            self._counted += spans[-1].end
