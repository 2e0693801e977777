"""Images read by OCR (Tesseract): each format, multi-page TIFFs, transparency, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import OcrPages, load_document
from desktop.ingest.loaders.image import OCR_OFF
from desktop.ingest.loaders.ocr import NOT_INSTALLED
from tests.scans import page_image

LINE = "Invoice 4471 for the Quillfeather boathouse"


@pytest.mark.parametrize("name", ["scan.png", "scan.jpg", "scan.jpeg", "scan.tif", "scan.webp"])
def test_each_format_is_read_by_ocr(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page_image([LINE]).save(path)
    document = load_document(path)
    assert document.kind == "image" and document.pages is None
    [section] = document.sections
    assert LINE in section.text and section.page is None
    assert section.ocr_confidence is not None and 0.5 < section.ocr_confidence <= 1.0


def test_a_multi_page_tiff_is_read_page_by_page(tmp_path: Path) -> None:
    path = tmp_path / "fax.tiff"
    pages = [page_image([f"Greywick notice number {n}"], seed=n) for n in (1, 2, 3)]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    told: list[tuple[int, int]] = []
    document = load_document(path, ocr=OcrPages(started=lambda page, total: told.append((page, total))))
    assert told == [(1, 3), (2, 3), (3, 3)] and document.pages == 3
    assert [(s.page, f"number {s.page}" in s.text) for s in document.sections] == [(1, True), (2, True), (3, True)]


def test_text_on_a_transparent_background_is_read(tmp_path: Path) -> None:
    """Transparent pixels are often black underneath: laid on white first, or the page reads as black."""
    ink = page_image([LINE], noise=0.0)
    layer = Image.new("RGBA", ink.size, (0, 0, 0, 0))
    layer.putalpha(Image.eval(ink, lambda value: 255 - value))
    path = tmp_path / "clip.png"
    layer.save(path)
    assert LINE in load_document(path).text


def test_ocr_turned_off(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    page_image([LINE]).save(path)
    with pytest.raises(ParseError, match=f"^{OCR_OFF}$"):
        load_document(path, LoadLimits(ocr=False))


def test_without_tesseract_the_reason_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scan.png"
    page_image([LINE]).save(path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ParseError) as raised:
        load_document(path)
    assert str(raised.value) == NOT_INSTALLED
