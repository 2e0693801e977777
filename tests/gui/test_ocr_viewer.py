"""A citation of a passage read by OCR opens on the page picture with that passage's words marked where they
were printed: on a scanned PDF's page (QtPdf draws it) and on a picture of a page (an image file); with a
supporting sentence, only its words."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRectF

from desktop.core.types import Passage, Span
from desktop.services.answering import to_passages
from desktop.services.indexing import Indexer
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import wait_until
from tests.scans import page_image, printed_box, write_scanned_pdf

pytestmark = pytest.mark.slow

PDF_LINES = ["Tamberlyn ferry timetable changes in October", "Quillfeather boathouse repairs were approved"]
PNG_LINES = ["Brinewater salt works receipt for eleven sacks"]
SLACK = 6.0  # pixels: Tesseract's box of a word and the font's ink box differ by a pixel or two, plus the mark's margin


def _scans(folder: Path) -> Path:
    """A two-page scan whose second page prints PDF_LINES, and a picture of a page printing PNG_LINES."""
    folder.mkdir()
    pages = [page_image(["Greywick quarry blasting notice"], seed=1, angle=0), page_image(PDF_LINES, seed=2, angle=0)]
    write_scanned_pdf(folder / "minutes.pdf", pages)
    page_image(PNG_LINES, seed=3, angle=0).save(folder / "receipt.png")
    return folder


def _passage(workspace: Workspace, line: str, name: str, *, support: str | None = None) -> Passage:
    hit = next(h for h in Retriever(workspace).search(line, 5) if Path(h.path).name == name)
    passage = to_passages([hit])[0]
    if support is None:
        return passage
    start = passage.text.index(support)
    return passage.model_copy(update={"supports": (Span(start=start, end=start + len(support)),)})


def _on(page: QRectF, box: tuple[float, float, float, float]) -> QRectF:
    left, top, right, bottom = box
    return QRectF(page.x() + left * page.width(), page.y() + top * page.height(),
                  (right - left) * page.width(), (bottom - top) * page.height())


def _assert_marks_cover(marks: list[QRectF], printed: QRectF) -> None:
    """Every mark lies on the printed line, and together they span it from end to end."""
    assert marks, "nothing was marked"
    room = printed.adjusted(-SLACK, -SLACK, SLACK, SLACK)
    for mark in marks:
        assert room.contains(mark), (mark, printed)
    assert min(m.left() for m in marks) <= printed.left() + SLACK
    assert max(m.right() for m in marks) >= printed.right() - SLACK


def test_an_ocr_passage_of_a_scanned_pdf_is_marked_on_its_page(
    open_gui: OpenWindow, workspace: Workspace, tmp_path: Path
) -> None:
    folder = _scans(tmp_path / "scans")
    report = Indexer(workspace).index([folder])
    assert report.failed == () and report.added == 2
    passage = _passage(workspace, PDF_LINES[1], "minutes.pdf", support=PDF_LINES[1])
    assert passage.page == 2

    window = open_gui(workspace.data_dir)
    window.open_passage(passage)
    viewer, view = window.viewer, window.viewer.pdf.view
    wait_until(lambda: viewer.stack.currentWidget() is viewer.pdf and view.mark_rects(), 60, "the marked page")
    wait_until(lambda: viewer.pdf.current_page == 1, 10, "the PDF to be at page 2")
    # Scrolling follows the page change in a later event: a loaded machine may not have run it yet.
    visible = QRectF(view.viewport().rect())
    wait_until(lambda: all(visible.contains(mark) for mark in view.mark_rects()), 10, "the marked words in view")

    # Only the supporting sentence's words, over the line printed on page 2, scrolled into view.
    page = QRectF(view.page_rect(1)).translated(-view.horizontalScrollBar().value(), -view.verticalScrollBar().value())
    marks = view.mark_rects()
    assert len(marks) == len(PDF_LINES[1].split())
    _assert_marks_cover(marks, _on(page, printed_box(PDF_LINES, 1)))
    assert all(visible.contains(mark) for mark in marks), "the marked words are not in view"
    assert viewer.pdf.search.searchString() == ""  # a page without a text layer is not searched

    # Without a supporting sentence, every word of the passage is marked, the first line among them.
    whole = _passage(workspace, PDF_LINES[1], "minutes.pdf")
    window.open_passage(whole)
    wait_until(lambda: len(view.mark_rects()) == len(whole.text.split()), 30, "the whole passage marked")
    first_line = [m for m in view.mark_rects() if m.center().y() < _on(page, printed_box(PDF_LINES, 0)).bottom()]
    assert len(first_line) == len(PDF_LINES[0].split())


def test_an_ocr_passage_of_an_image_is_marked_on_its_picture(
    open_gui: OpenWindow, workspace: Workspace, tmp_path: Path
) -> None:
    folder = _scans(tmp_path / "scans")
    Indexer(workspace).index([folder])
    passage = _passage(workspace, PNG_LINES[0], "receipt.png", support=PNG_LINES[0])

    window = open_gui(workspace.data_dir)
    window.open_passage(passage)
    viewer, pane = window.viewer, window.viewer.picture
    # Placed at the pane's width once the layout has settled: the pane re-places it after each resize.
    wait_until(lambda: viewer.stack.currentWidget() is pane and bool(pane.picture.mark_rects())
               and pane.picture.width() == pane.viewport().width(), 60, "the marked picture at the pane's width")

    picture = pane.picture
    assert (picture.image.width(), picture.image.height()) == page_image(PNG_LINES, angle=0).size
    marks = picture.mark_rects()
    assert len(marks) == len(PNG_LINES[0].split())
    _assert_marks_cover(marks, _on(QRectF(picture.rect()), printed_box(PNG_LINES, 0)))
    # The marks are within the part scrolled into view.
    shown = QRectF(0, pane.verticalScrollBar().value(), pane.viewport().width(), pane.viewport().height())
    assert all(shown.contains(mark) for mark in marks)
