"""PDF files through PDFium: one section per page that has text, numbered as in the file.

A page with (almost) no text layer that draws an image is a scan: it is drawn in grey and read by OCR,
unless OCR is turned off. Its section says so, with OCR's confidence.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import SCANNED_OCR_OFF, OcrPages
from desktop.ingest.loaders.cleanup import clean_inline, clean_text
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.ocr import PAGE_DPI, scaled_to_fit

_LOCKED = frozenset({pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY})
# Fewer visible characters than this on a page with an image: a scan, perhaps with a stamped page number.
SCANNED_BELOW = 20
SCANNED_NO_TEXT = "no text layer, and OCR found no text in its pages"


def load(path: Path, limits: LoadLimits, kind: str, ocr: OcrPages) -> ExtractedDocument:
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
        drawn = scanned = False  # any page with images or drawings; any page that looked scanned
        for index in range(pages):
            section, objects, scan = _read_page(document, index, ocr if limits.ocr else None)
            drawn, scanned = drawn or objects > 0, scanned or scan
            if section is not None:
                sections.append(section)
        title = clean_inline(document.get_metadata_value("Title"))
    except pdfium.PdfiumError as exc:
        raise ParseError("damaged PDF (a page cannot be read)") from exc
    finally:
        document.close()
    if not sections:
        raise ParseError(_why_empty(drawn=drawn, scanned=scanned, ocr=limits.ocr))
    return ExtractedDocument(kind=kind, title=title, sections=tuple(sections), pages=pages)


def _why_empty(*, drawn: bool, scanned: bool, ocr: bool) -> str:
    # Pages with nothing on them (or content that cannot be followed) are blank, not scanned.
    if scanned:
        return SCANNED_NO_TEXT if ocr else SCANNED_OCR_OFF
    return "no text layer (scanned PDF?)" if drawn else "empty document"


def _read_page(
    document: pdfium.PdfDocument, index: int, ocr: OcrPages | None
) -> tuple[Section | None, int, bool]:
    """The page's section (None: no text), how many objects it draws, and whether it looked scanned.
    ``ocr``: how scanned pages are read; None: OCR is off."""
    page = document[index]
    try:
        text, objects = _page_text(page)
        scanned = len("".join(text.split())) < SCANNED_BELOW and _draws_an_image(page)
        if scanned and ocr is not None:
            read = ocr.read(index + 1, len(document), lambda: _drawn(page))
            if read.text:  # OCR's text is clean already: one box per word
                section = Section(text=read.text, page=index + 1, ocr_confidence=read.confidence, ocr_boxes=read.boxes)
                return section, objects, True
        return (Section(text=text, page=index + 1) if text else None), objects, scanned
    finally:
        page.close()


def _page_text(page: pdfium.PdfPage) -> tuple[str, int]:
    """The page's cleaned text, and how many objects (text, images, paths) it draws."""
    textpage = page.get_textpage()
    try:
        return clean_text(textpage.get_text_bounded()), pdfium_c.FPDFPage_CountObjects(page.raw)
    finally:
        textpage.close()


def _draws_an_image(page: pdfium.PdfPage) -> bool:
    images = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2)
    return next(iter(images), None) is not None


def _drawn(page: pdfium.PdfPage) -> Image.Image:
    """The page in grey at PAGE_DPI, or smaller if that would be more than OCR takes."""
    width, height = page.get_size()
    scale = scaled_to_fit(width, height, PAGE_DPI / 72)
    bitmap = page.render(scale=scale, grayscale=True, draw_annots=False)
    try:
        return bitmap.to_pil().copy()  # the bitmap's buffer is freed with it
    finally:
        bitmap.close()
