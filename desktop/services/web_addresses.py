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


# The end of a streaming answer that may still become (part of) an address: an address being written,
# a Markdown link whose address may follow, or the first letters of "https://" or "www." in a word.
_UNSETTLED = re.compile(
    rf"(?:(?<![\w/]){_ADDRESS}"
    r"|\[[^\]\n]*(?:\]\(?[^\s)\n]*)?"
    r"|(?<![\w/])(?:h(?:t(?:t(?:p(?:s?(?::/{0,2})?)?)?)?)?|w(?:w(?:w\.?)?)?))\Z",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^[ \t]*(```|~~~)")


class StreamedAddresses:
    """While a grounded answer streams: text is let out as it comes, except an address, which is held
    until it is complete and then shown only if ``known`` holds it, as ``remove_invented`` will save it.
    The saved answer replaces the streamed one, so an address shown for a moment would still be shown."""

    def __init__(self, known: Sequence[str]) -> None:
        self._known = list(known)
        self._text = ""
        self._shown = ""

    def feed(self, piece: str) -> str:
        """What of the answer so far can be shown now, beyond what was."""
        self._text += piece
        unsettled = _UNSETTLED.search(self._text)
        return self._release(min(unsettled.start() if unsettled else len(self._text), self._open_code()))

    def finish(self) -> str:
        return self._release(len(self._text))

    def _open_code(self) -> int:
        """Where inline code still open on the last line begins (its addresses illustrate, and are kept
        once it closes), or the end of the text."""
        line_start = self._text.rfind("\n") + 1
        line = self._text[line_start:]
        if _FENCE.match(line) or line.count("`") % 2 == 0:
            return len(self._text)
        return line_start + line.rfind("`")

    def _release(self, end: int) -> str:
        cleaned, _ = remove_invented(self._text[:end], self._known)
        if not cleaned.startswith(self._shown):
            return ""  # rewritten behind what was shown (rare): the saved answer will replace it whole
        new, self._shown = cleaned[len(self._shown) :], cleaned
        return new
