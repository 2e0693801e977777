"""Markdown, reStructuredText and Org files, split into sections at their headings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_inline
from desktop.ingest.loaders.encoding import decode_text
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.sections import SectionBuilder

_MD_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_MD_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_MD_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MD_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")  # brackets excluded inside: linear on "[[[[..."
_RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*")
_ORG_HEADING = re.compile(r"(\*+)[ \t]+(.*?)(?:[ \t]+:[\w@#%:]+:)?[ \t]*")
_ORG_TITLE = re.compile(r"#\+title:[ \t]*(.*)", re.IGNORECASE)


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    lines = decode_text(read_bytes(path, limits.max_bytes)).splitlines()
    builder = SectionBuilder()
    title = _SPLITTERS[kind](lines, builder)
    sections = builder.build()
    if not sections:
        raise ParseError("empty document")
    return ExtractedDocument(kind=kind, title=title, sections=sections)


def _markdown(lines: list[str], builder: SectionBuilder) -> str | None:
    title: str | None = None
    body: list[str] = []
    fence: str | None = None

    def heading(level: int, text: str) -> None:
        nonlocal title, body
        text = _MD_LINK.sub(r"\1", text).replace("`", "").replace("*", "")
        builder.add("\n".join(body))
        body = []
        if builder.heading(level, text) and level == 1 and title is None:
            title = clean_inline(text)

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if fence is not None:  # inside a code block nothing is a heading
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            body.append(line)
            continue
        if match := _MD_FENCE.match(line):
            fence = match.group(1)
            body.append(line)
        elif (match := _MD_ATX.fullmatch(line)) and match.group(2):
            heading(len(match.group(1)), match.group(2))
        elif (
            index < len(lines)
            and line.strip()
            and not line.startswith("    ")
            and (not body or not body[-1].strip())  # a one-line paragraph only
            and (underline := _MD_SETEXT.fullmatch(lines[index]))
        ):
            heading(1 if underline.group(1)[0] == "=" else 2, line)
            index += 1
        else:
            body.append(line)
    builder.add("\n".join(body))
    return title


def _rst(lines: list[str], builder: SectionBuilder) -> str | None:
    """Levels follow the order in which adornment styles (character, with or without overline) appear."""
    styles: list[tuple[str, bool]] = []
    title: str | None = None
    body: list[str] = []
    index = 0
    while index < len(lines):
        found = _rst_title(lines, index)
        if found is None or (body and body[-1].strip()):  # a title follows a blank line
            body.append(lines[index])
            index += 1
            continue
        text, style, used = found
        if style not in styles:
            styles.append(style)
        builder.add("\n".join(body))
        body = []
        if builder.heading(styles.index(style) + 1, text) and title is None:
            title = clean_inline(text)
        index += used
    builder.add("\n".join(body))
    return title


def _rst_title(lines: list[str], index: int) -> tuple[str, tuple[str, bool], int] | None:
    """(title, style, lines used) if a section title starts at ``index``."""

    def adornment(at: int) -> str | None:
        match = _RST_ADORNMENT.fullmatch(lines[at]) if at < len(lines) else None
        return match.group(1) if match else None

    def titled(at: int) -> bool:
        return at < len(lines) and bool(lines[at].strip()) and adornment(at) is None

    over = adornment(index)
    if over and titled(index + 1) and adornment(index + 2) == over:
        return lines[index + 1].strip(), (over, True), 3
    under = adornment(index + 1)
    line = lines[index]
    long_enough = under is not None and len(lines[index + 1].rstrip()) >= len(line.strip())
    if under and long_enough and titled(index) and not line[0].isspace():
        return line.strip(), (under, False), 2
    return None


def _org(lines: list[str], builder: SectionBuilder) -> str | None:
    title: str | None = None
    body: list[str] = []
    for line in lines:
        if title is None and (match := _ORG_TITLE.fullmatch(line)):
            title = clean_inline(match.group(1))
        if match := _ORG_HEADING.fullmatch(line):
            builder.add("\n".join(body))
            body = []
            builder.heading(len(match.group(1)), match.group(2))
        else:
            body.append(line)
    builder.add("\n".join(body))
    return title


_SPLITTERS: dict[str, Callable[[list[str], SectionBuilder], str | None]] = {
    "markdown": _markdown,
    "rst": _rst,
    "org": _org,
}
