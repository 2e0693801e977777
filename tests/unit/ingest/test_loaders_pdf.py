"""PDFs: one section per page with text, real page numbers, and a clear reason for unreadable files."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import SCANNED_OCR_OFF, OcrPages, load_document
from tests.scans import page_image, write_scanned_pdf
from tests.unit.ingest.samples import write_image_pdf, write_pdf


def test_multi_page_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "manual.pdf",
        ["Descale the kettle monthly.", "", "Error code KX-409 means overheating.\nUnplug it."],
        title="Kettle Manual",
    )
    document = load_document(path)
    assert document.kind == "pdf"
    assert document.title == "Kettle Manual"
    assert document.pages == 3
    assert [section.page for section in document.sections] == [1, 3]  # page 2 has no text
    assert document.sections[0].text == "Descale the kettle monthly."
    assert "KX-409" in document.sections[1].text and "Unplug it." in document.sections[1].text
    assert all(section.heading is None for section in document.sections)


def test_pdf_without_title_metadata(tmp_path: Path) -> None:
    document = load_document(write_pdf(tmp_path / "a.pdf", ["Café crème."]))
    assert document.title is None
    assert document.text == "Café crème."


def test_encrypted_pdf(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", ["Top secret."], password="hunter2")
    with pytest.raises(ParseError, match=r"^encrypted PDF$"):
        load_document(path)


def test_scanned_pdf_without_ocr_has_no_text_layer(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=rf"^{re.escape(SCANNED_OCR_OFF)}$"):
        load_document(write_image_pdf(tmp_path / "scan.pdf"), LoadLimits(ocr=False))


def test_scanned_pages_are_read_by_ocr_and_text_pages_are_not(tmp_path: Path) -> None:
    """A text page, then a scanned one: only the scan is drawn and read, and its section says so."""
    text = write_pdf(tmp_path / "text.pdf", ["The typed cover letter."])
    scan = write_scanned_pdf(tmp_path / "scan.pdf", [page_image(["The Marrowdale orchard ledger"])])
    merged = pdfium.PdfDocument(text)
    merged.import_pages(pdfium.PdfDocument(scan))
    merged.save(tmp_path / "both.pdf")
    told: list[tuple[int, int]] = []
    document = load_document(
        tmp_path / "both.pdf", ocr=OcrPages(started=lambda page, pages: told.append((page, pages)))
    )
    assert told == [(2, 2)]
    cover, scanned = document.sections
    assert (cover.page, cover.ocr_confidence, cover.text) == (1, None, "The typed cover letter.")
    assert scanned.page == 2 and "Marrowdale orchard ledger" in scanned.text
    assert scanned.ocr_confidence is not None and scanned.ocr_confidence > 0.5


def test_too_many_pages(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "long.pdf", ["one", "two", "three"])
    with pytest.raises(ParseError, match="too many pages"):
        load_document(path, LoadLimits(max_pages=2))


@pytest.mark.parametrize(
    "data", [b"not a pdf at all", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", b"%PDF-" + bytes(range(256)) * 8]
)
def test_broken_pdf(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(ParseError, match="not a valid PDF"):
        load_document(path)


def test_truncated_pdf(tmp_path: Path) -> None:
    """Half a real file: either rescued text or a clean refusal, never another exception."""
    full = write_pdf(tmp_path / "full.pdf", ["Page one text.", "Page two text."]).read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(full[: len(full) // 2])
    try:
        document = load_document(path)
    except ParseError as exc:
        assert str(exc) in {
            "not a valid PDF",
            "no text layer (scanned PDF?)",
            "damaged PDF (a page cannot be read)",
        }
    else:
        assert all(section.text for section in document.sections)
