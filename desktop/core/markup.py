"""Data written into Markdown as text, never as markup.

A file named ``![x](fifo)``, ``<b>notes</b>.md`` or ``www.example.com.md`` must read as exactly those
characters: rendered as Markdown it would become an image the view tries to load, a link, or
formatting the name never had.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
# Characters that start markup anywhere in a line: code, emphasis, links and images, HTML, entities,
# tables, and the autolinks of GitHub's dialect (``name@host`` at "@", ``https://`` at ":").
# (Parentheses need no escape once brackets have one; names like "report (final).pdf" stay readable.)
_INLINE = re.compile(r"([\\`*_\[\]<>!&~|@:])")
# ...the "www." autolink, at its dot...
_WWW = re.compile(r"(?i)(?<=www)\.")
# ...and at the start of a line: lists ("- ", "1. "), quotes, headings.
_BLOCK_START = re.compile(r"^(\s*\d*)([-+=>#.)])")


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown text on one line (a file name may hold line breaks)."""
    escaped = _WWW.sub(r"\\.", _INLINE.sub(r"\\\1", _LINE_BREAKS.sub(" ", text)))
    return _BLOCK_START.sub(r"\1\\\2", escaped)
