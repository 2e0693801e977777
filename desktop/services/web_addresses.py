"""Web addresses in a grounded answer that neither the question nor any passage it was given holds.

Asked about the user's files, a small model invents sources in the form of links: 6 of 80 dev-set
answers held one (GitHub, Heroku and blog addresses), and not one was in the passages. Hearth shows
no address it cannot vouch for: an invented one is replaced by a short mark, and the answer's notes
count them. Addresses in plain chat (no passages) are the model's own and are left as written, and so
are addresses in code (`git clone https://…` in an example): they illustrate, they cite nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

REMOVED = "(a web address not in your files)"
_ADDRESS = r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`]+"
_MARKDOWN_LINK = re.compile(rf"\[([^\]\n]*)\]\(\s*({_ADDRESS})\s*\)", re.IGNORECASE)
_BARE = re.compile(rf"(?<![\w/]){_ADDRESS}", re.IGNORECASE)
_TRAILING = ".,;:!?"  # a sentence's punctuation after an address is not part of it
_CODE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)|`[^`\n]+`", re.DOTALL | re.MULTILINE)


def remove_invented(answer: str, known: Sequence[str]) -> tuple[str, int]:
    """``answer`` without the web addresses no text of ``known`` holds, and how many were removed. A
    Markdown link to one keeps its words."""
    held = " ".join(known).casefold()
    removed = 0

    def invented(address: str) -> bool:
        nonlocal removed
        if address.rstrip(_TRAILING).casefold() in held:
            return False
        removed += 1
        return True

    def link(match: re.Match[str]) -> str:
        words, address = match.group(1), match.group(2)
        return f"{words} {REMOVED}" if invented(address) else match.group(0)

    def bare(match: re.Match[str]) -> str:
        address = match.group(0)
        kept = address.rstrip(_TRAILING)
        return REMOVED + address[len(kept) :] if invented(address) else address

    def prose(text: str) -> str:
        return _BARE.sub(bare, _MARKDOWN_LINK.sub(link, text))

    pieces, last = [], 0
    for code in _CODE.finditer(answer):
        pieces += [prose(answer[last : code.start()]), code.group(0)]
        last = code.end()
    return "".join([*pieces, prose(answer[last:])]), removed



# What is left of a sentence that only presented an invented address ("You can cite this source as:
# <address>", "[1]: <address>"): its lead-in says nothing once the address is gone.
_LEFTOVER = re.compile(
    rf"(?:^|(?<=[.!?]))[ \t]*[^\n.!?:]{{0,80}}:[ \t]*{re.escape(REMOVED)}"  # a lead-in, then the mark
    r"[ \t]*(?:[.!?]|(?=\n|\Z))(?:[ \t]*(?=\n|\Z))?(\n?)",  # the sentence's end, and its line's
    re.MULTILINE,
)


def without_leftovers(answer: str) -> str:
    """``answer`` (from ``remove_invented``) without the sentences that were only a lead-in to an address."""

    def drop(match: re.Match[str]) -> str:
        whole_line = match.start() == 0 or answer[match.start() - 1] == "\n"
        return "" if whole_line else match.group(1)

    return _LEFTOVER.sub(drop, answer).strip()


# The end of a streaming answer that may still become (part of) an address: an address being written or
# the first letters of "https://" or "www." (within the last word: an address holds no space), or a
# Markdown link whose address may follow (from the line's last "[").
_OPEN_ADDRESS = re.compile(
    rf"(?<![\w/])(?:{_ADDRESS}|h(?:t(?:t(?:p(?:s?(?::/{{0,2}})?)?)?)?)?|w(?:w(?:w\.?)?)?)\Z", re.IGNORECASE
)
_OPEN_LINK = re.compile(r"\[[^\]\n]*(?:\]\(?[^\s)\n]*)?\Z")
_FENCE = re.compile(r"[ \t]*(```|~~~)")  # at a line's start
_ANY_ADDRESS = re.compile(r"https?://|www\.", re.IGNORECASE)  # most answers hold none: nothing to check


class StreamedAddresses:
    """While a grounded answer streams: text is let out as it comes, except an address, which is held
    until it is complete and then shown only if ``known`` holds it, as ``remove_invented`` will save it.
    The saved answer replaces the streamed one, so an address shown for a moment would still be shown.

    Whole lines outside fenced code are final once written (nothing ``remove_invented`` changes spans
    lines), so each token's work stays within the lines still open however long the answer grows."""

    def __init__(self, known: Sequence[str]) -> None:
        self._known = list(known)
        self._text = ""
        self._shown = ""
        self._addresses = False  # whether the answer holds anything like an address yet
        self._committed = 0  # self._text[:_committed] is final, and shown as self._committed_shown
        self._committed_shown = ""
        self._scanned = 0  # lines before this were looked at for fences
        self._fence: str | None = None  # the marker of the fenced code block open at _scanned

    def feed(self, piece: str) -> str:
        """What of the answer so far can be shown now, beyond what was."""
        overlap = max(0, len(self._text) - len("https://"))
        self._text += piece
        self._addresses = self._addresses or _ANY_ADDRESS.search(self._text, overlap) is not None
        return self._release(self._settled())

    def finish(self) -> str:
        return self._release(len(self._text))

    def _settled(self) -> int:
        """Where the text that may still change begins: nothing held spans lines."""
        text = self._text
        line_start = text.rfind("\n") + 1
        word_start = max(line_start, text.rfind(" ") + 1, text.rfind("\t") + 1)
        starts = [len(text), self._open_code(line_start)]
        if address := _OPEN_ADDRESS.search(text, word_start):
            starts.append(address.start())
        bracket = text.rfind("[", line_start)
        if bracket >= 0 and _OPEN_LINK.match(text, bracket):
            starts.append(bracket)
        return min(starts)

    def _open_code(self, line_start: int) -> int:
        """Where inline code still open on the last line begins (its addresses illustrate, and are kept
        once it closes), or the end of the text."""
        line = self._text[line_start:]
        if _FENCE.match(line) or line.count("`") % 2 == 0:
            return len(self._text)
        return line_start + line.rfind("`")

    def _release(self, end: int) -> str:
        cleaned = self._committed_shown + self._clean(self._text[self._committed : end])
        if not cleaned.startswith(self._shown):
            return ""  # rewritten behind what was shown (rare): the saved answer will replace it whole
        new, self._shown = cleaned[len(self._shown) :], cleaned
        self._commit(end)
        return new

    def _clean(self, text: str) -> str:
        return remove_invented(text, self._known)[0] if self._addresses else text

    def _commit(self, end: int) -> None:
        """Make final the whole lines before ``end`` that are outside fenced code."""
        while (newline := self._text.find("\n", self._scanned, end)) >= 0:
            fence = _FENCE.match(self._text, self._scanned)
            if fence and self._fence in (None, fence.group(1)):
                self._fence = fence.group(1) if self._fence is None else None
            self._scanned = newline + 1
            if self._fence is None:
                self._committed_shown += self._clean(self._text[self._committed : self._scanned])
                self._committed = self._scanned
