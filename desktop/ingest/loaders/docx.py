"""Word documents: paragraphs and tables in body order, split into sections at heading styles."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.document import Document
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from lxml import etree

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_inline
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.sections import SectionBuilder
from desktop.ingest.loaders.zipcheck import open_checked

_HEADING_STYLE = re.compile(r"heading ([1-9])")
_WHAT = "Word document"
_PARAGRAPH, _TABLE, _ROW, _CELL = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc")
_CONTROL, _CONTROL_CONTENT = qn("w:sdt"), qn("w:sdtContent")


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    data = read_bytes(path, limits.max_bytes)
    # Vet the very bytes python-docx will read, so the file cannot change between check and parse.
    open_checked(data, limits, what=_WHAT, allow_doctype=False).close()
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # a zip that is not a Word file: missing parts, wrong content type
        raise ParseError(f"not a valid {_WHAT}") from exc
    builder = SectionBuilder()
    first_heading: str | None = None
    for block in _blocks(document):
        if isinstance(block, str):
            builder.add(block)
            continue
        level = _heading_level(block)
        if level is not None and builder.heading(level, block.text):
            if level <= 1:  # Title or Heading 1 names the document when its properties do not
                first_heading = first_heading or clean_inline(block.text)
        else:
            builder.add(block.text)
    sections = builder.build()
    if not sections:
        raise ParseError("empty document")
    title = clean_inline(document.core_properties.title) or first_heading
    return ExtractedDocument(kind=kind, title=title, sections=sections)


def _blocks(document: Document) -> Iterator[Paragraph | str]:
    """Paragraphs, and tables rendered as text, in reading order, including those in content controls."""
    pending = list(document.element.body)[::-1]  # a stack, not recursion: controls may nest deeply
    while pending:
        element = pending.pop()
        if element.tag == _PARAGRAPH:
            yield Paragraph(element, document)
        elif element.tag == _TABLE:
            yield _table_text(element, document)
        elif element.tag == _CONTROL:
            content = element.find(_CONTROL_CONTENT)
            if content is not None:
                pending.extend(list(content)[::-1])


def _table_text(table: etree._Element, document: Document) -> str:
    """One "cell | cell | cell" line per row; nested tables flatten into their cell."""
    rows = []
    for row in table.iterchildren(_ROW):
        cells = [
            " ".join(Paragraph(p, document).text for p in cell.iter(_PARAGRAPH)).strip()
            for cell in row.iterchildren(_CELL)
        ]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _heading_level(paragraph: Paragraph) -> int | None:
    """0 for the Title style, 1-9 for Heading 1-9, None for body text."""
    style = paragraph.style
    name = (style.name or "").lower() if style is not None else ""
    if name == "title":
        return 0
    match = _HEADING_STYLE.fullmatch(name)
    return int(match.group(1)) if match else None
