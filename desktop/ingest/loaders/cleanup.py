"""Normalise extracted text: one newline style, no control characters, single spaces, "\\n\\n" paragraphs.

The chunker splits on blank lines, so paragraph breaks must survive and nothing else may look like one.
"""

from __future__ import annotations

import re

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # colours in log files
_PARAGRAPH_BREAK = re.compile("[\x0c\x1c-\x1e\u2029]")  # form feed and separators end a paragraph
_LINE_BREAK = re.compile("\r\n?|[\x0b\x85\u2028]")
# Controls except tab and newline, soft hyphen, zero-width space, BOM, non-characters, lone surrogates.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\ufeff\ufffe\uffff\ud800-\udfff]")
_SPACE_RUN = re.compile(r"[^\S\n\t]+")  # horizontal whitespace, tabs kept
_INNER_SPACE_RUN = re.compile(r"(?<=\S)[^\S\n\t]+")
_LINE_END_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_LINE_START_SPACE = re.compile(r"^[^\S\n]+", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"\s+")


def clean_text(text: str, *, keep_indent: bool = False) -> str:
    """Normalised text, "" if nothing visible is left; ``keep_indent`` keeps leading whitespace (code)."""
    text = _ANSI_ESCAPE.sub("", text)
    text = _PARAGRAPH_BREAK.sub("\n\n", _LINE_BREAK.sub("\n", text))
    text = _INVISIBLE.sub("", text)
    if keep_indent:
        text = _INNER_SPACE_RUN.sub(" ", text)
    else:
        text = _LINE_START_SPACE.sub("", _SPACE_RUN.sub(" ", text))
    text = _BLANK_LINES.sub("\n\n", _LINE_END_SPACE.sub("", text))
    return text.strip("\n") if text.strip() else ""


def clean_inline(text: str | None, limit: int = 300) -> str | None:
    """A title or heading on one line, cut to ``limit`` characters; None if empty."""
    if not text:
        return None
    line = _ANY_SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()[:limit].strip()
    return line or None
