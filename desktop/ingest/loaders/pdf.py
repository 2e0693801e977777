"""PDF files through PDFium: one section per page that has text, numbered as in the file."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_inline, clean_text
from desktop.ingest.loaders.files import read_bytes

_LOCKED = frozenset({pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY})


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    data = read_bytes(path, limits.max_bytes)
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ParseError("encrypted PDF" if exc.err_code in _LOCKED else "not a valid PDF") from exc
    try:
        pages = len(document)
        if pages > limits.max_pages:
            raise ParseError(f"PDF has too many pages ({pages:,}; the limit is {limits.max_pages:,})")
        sections = []
        drawn = False  # any page with images or drawings: a scan if no page has text
        for index in range(pages):
            text, objects = _page_text(document, index)
            drawn = drawn or objects > 0
            if text:
                sections.append(Section(text=text, page=index + 1))
        title = clean_inline(document.get_metadata_value("Title"))
    except pdfium.PdfiumError as exc:
        raise ParseError("damaged PDF (a page cannot be read)") from exc
    finally:
        document.close()
    if not sections:
        # Pages with nothing on them (or content that cannot be followed) are blank, not scanned.
        raise ParseError("no text layer (scanned PDF?)" if drawn else "empty document")
    return ExtractedDocument(kind=kind, title=title, sections=tuple(sections), pages=pages)


def _page_text(document: pdfium.PdfDocument, index: int) -> tuple[str, int]:
    """The page's cleaned text, and how many objects (text, images, paths) it draws."""
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            return clean_text(textpage.get_text_bounded()), pdfium_c.FPDFPage_CountObjects(page.raw)
        finally:
            textpage.close()
    finally:
        page.close()
