"""Normalise extracted text: one newline style, no control characters, single spaces, "\\n\\n" paragraphs.

The chunker splits on blank lines, so paragraph breaks must survive and nothing else may look like one.
Patterns only match what must change, because these passes run over files of hundreds of megabytes.
"""

from __future__ import annotations

import re

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")  # colours in log files
_PARAGRAPH_BREAK = re.compile("[\x0c\x1c-\x1e\u2029]")  # form feed and separators end a paragraph
_LINE_BREAK = re.compile("[\r\x0b\x85\u2028]")
# Controls except tab and newline, soft hyphen, zero-width space, BOM, non-characters, lone surrogates.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\ufeff\ufffe\uffff\ud800-\udfff]")
# Horizontal whitespace (tabs kept) that is not already a single plain space.
_SPACE_RUN = re.compile(r" [^\S\n\t]+|[^\S\n\t ][^\S\n\t]*")
_INNER_SPACE_RUN = re.compile(r"(?<=\S)(?: [^\S\n\t]+|[^\S\n\t ][^\S\n\t]*)")
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_SPACE = re.compile(r"\s+")


def clean_text(text: str, *, keep_indent: bool = False) -> str:
    """Normalised text, "" if nothing visible is left; ``keep_indent`` keeps leading whitespace (code)."""
    text = _ANSI_ESCAPE.sub("", text)
    text = _LINE_BREAK.sub("\n", text.replace("\r\n", "\n"))
    text = _INVISIBLE.sub("", _PARAGRAPH_BREAK.sub("\n\n", text))
    text = (_INNER_SPACE_RUN if keep_indent else _SPACE_RUN).sub(" ", text)
    strip = str.rstrip if keep_indent else str.strip
    text = _BLANK_LINES.sub("\n\n", "\n".join(strip(line) for line in text.split("\n")))
    return text.strip("\n")


def clean_inline(text: str | None, limit: int = 300) -> str | None:
    """A title or heading on one line, cut to ``limit`` characters; None if empty."""
    if not text:
        return None
    line = _ANY_SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()[:limit].strip()
    return line or None
