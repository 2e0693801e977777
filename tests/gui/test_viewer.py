"""Citations open the cited document inside Hearth: PDFs at the page, text with the passage marked.

The viewer reads files as indexing does: text in a parse worker under the same limits, PDFs through
the same file checks, never on the GUI thread; names and headings from files are plain text; and
"Open" never hands a program or script to the desktop.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QImage

from desktop.core.types import Citation, MessageStatus, Passage
from desktop.services.answering import to_passages
from desktop.services.conversations import ConversationStore
from desktop.services.indexing import Indexer
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace
from desktop.ui.main_window import MainWindow
from desktop.ui.message_widget import AnswerMessage
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import click_link, wait_until
from tests.hostile.generate import attribute_flood

ANSWER = "Saturn's rings are mostly water ice [1]. Water tomatoes deeply twice a week [2]."


def _cited_conversation(workspace: Workspace, corpus: Path) -> tuple[int, list[Passage]]:
    """An indexed corpus and a saved answer citing a PDF page [1] and a Markdown section [2]."""
    Indexer(workspace).index([corpus])
    retriever = Retriever(workspace)
    pdf = next(h for h in retriever.search("What are Saturn's rings made of?", 5) if h.path.endswith(".pdf"))
    markdown = next(h for h in retriever.search("tomatoes watering sun", 5) if h.path.endswith("garden.md"))
    passages = [p.model_copy(update={"cited": True}) for p in to_passages([pdf, markdown])]
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    conversation = store.create()
    store.add_user_message(conversation.id, "Tell me about Saturn and tomatoes")
    answer = store.start_answer(conversation.id, "test")
    store.finish_answer(
        answer, text=ANSWER, status=MessageStatus.COMPLETE, passages=passages,
        citations=[Citation(n=p.n, path=p.path, page=p.page, heading=p.heading) for p in passages],
    )
    store.close()
    return conversation.id, passages


def test_citations_open_the_pdf_page_and_highlight_the_passage(
    open_gui: OpenWindow, workspace: Workspace, corpus: Path
) -> None:
    conversation_id, passages = _cited_conversation(workspace, corpus)
    pdf_passage, markdown_passage = passages
    assert pdf_passage.page == 2
    window = open_gui(workspace.data_dir)
    wait_until(lambda: window.sidebar.titles(), 30, "the conversation list")
    window.open_conversation(conversation_id)
    answer = wait_until(lambda: window.chat.view.last_answer(), 30, "the answer to be shown")
    assert isinstance(answer, AnswerMessage) and answer.text() == ANSWER
    assert [card.passage.n for card in window.sources.cards()] == [1, 2]

    click_link(answer.body, "cite:1")
    viewer = window.viewer
    assert window.side.currentWidget() is viewer
    wait_until(lambda: viewer.stack.currentWidget() is viewer.pdf, 30, "the PDF to be shown")
    wait_until(lambda: viewer.pdf.current_page == 1, 10, "the PDF to be at page 2")
    assert viewer.title.text() == "astronomy.pdf" and "page 2" in viewer.where.text()
    # A text layer is searched and highlighted by QtPdf, as before OCR; nothing is marked from boxes.
    assert viewer.pdf.search.searchString() and viewer.pdf.view.mark_rects() == []

    click_link(answer.body, "cite:2")
    wait_until(lambda: viewer.stack.currentWidget() is viewer.text, 30, "the Markdown text to be shown")
    assert viewer.title.text() == "garden.md"
    highlighted = viewer.text.highlighted_text()
    assert highlighted.strip() == markdown_passage.text.strip()
    assert "Tomatoes need full sun" in highlighted
    rect = viewer.text.cursorRect()
    assert viewer.text.viewport().rect().contains(rect.center())  # scrolled to the passage

    # The sources panel opens passages the same way, and "back" returns to it.
    viewer.backRequested.emit()
    assert window.side.currentWidget() is window.sources
    window.sources.cards()[0].clicked.emit(pdf_passage)
    wait_until(lambda: viewer.stack.currentWidget() is viewer.pdf, 30, "the PDF to be shown again")


def test_a_vanished_document_is_reported_in_the_viewer(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    gone = Passage(n=1, chunk_id=1, document_id=1, path=str(tmp_path / "gone.md"), text="x", score=1.0,
                   start=0, end=1)
    window.open_passage(gone)
    viewer = window.viewer
    wait_until(lambda: viewer.stack.currentWidget() is viewer.error, 30, "the error to be shown")
    assert "no longer" in viewer.error.text()
    assert not window.banner.isVisible()  # shown where the user is looking, not as a banner


# -- files that are not what the index saw --------------------------------------------------------

# Runs in its own process: an open() blocked on a FIFO in the window's process may hold its GIL.
TRAP = """
import os, sys, time
log, fifos = sys.argv[1], sys.argv[2:]
while True:
    for fifo in fifos:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while someone reads it
        except OSError:
            continue
        os.close(fd)  # the reader gets end of file: a window stuck in open() is released
        with open(log, "a") as out:
            out.write(fifo + "\\n")
    time.sleep(0.02)
"""


@contextmanager
def fifo_trap(log: Path, fifos: list[Path]) -> Iterator[Callable[[], list[str]]]:
    """Records (and releases) every open of ``fifos`` for reading; yields the list of those opened."""
    log.touch()
    trap = subprocess.Popen([sys.executable, "-c", TRAP, str(log), *map(str, fifos)])
    try:
        yield lambda: log.read_text(encoding="utf-8").splitlines()
    finally:
        trap.kill()
        trap.wait()


def _indexed_passage(workspace: Workspace, query: str, name: str) -> Passage:
    hit = next(h for h in Retriever(workspace).search(query, 5) if Path(h.path).name == name)
    return to_passages([hit])[0]


def _refused(window: MainWindow) -> bool:
    return window.viewer.stack.currentWidget() is window.viewer.error


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("name", "query"), [("astronomy.pdf", "Saturn's rings"), ("garden.md", "tomatoes sun")])
def test_a_fifo_in_place_of_a_cited_document_is_refused_and_nothing_waits_on_it(
    open_gui: OpenWindow, workspace: Workspace, corpus: Path, tmp_path: Path, name: str, query: str
) -> None:
    Indexer(workspace).index([corpus])
    swapped = _indexed_passage(workspace, query, name)
    os.remove(swapped.path)
    os.mkfifo(swapped.path)  # swapped for a pipe after indexing: opening it would wait for a writer
    elsewhere = tmp_path / "elsewhere" / name
    elsewhere.parent.mkdir()
    os.mkfifo(elsewhere)
    fifo = swapped.model_copy(update={"path": str(elsewhere), "n": 2})  # a citation that is a pipe
    window = open_gui(workspace.data_dir)

    # The window is closed while the trap is still there, should anything wait on a pipe.
    with fifo_trap(tmp_path / "readers.log", [Path(swapped.path), elsewhere]) as readers, closing(window):
        for passage in (swapped, fifo):
            window.open_passage(passage)
            wait_until(lambda: readers() or _refused(window), 90, f"the viewer to refuse {passage.path}")
            assert readers() == []  # nothing opened the pipe: neither the window nor the viewer thread waited on it
            expected = f"{name} cannot be shown: not a regular file (a pipe, socket or device)."
            assert window.viewer.error.text() == expected
            assert not window.banner.isVisible()


@pytest.mark.timeout(300)
def test_viewer_reads_text_in_a_parse_worker_under_the_indexing_limits(
    open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_INDEX__PARSE_TIMEOUT_S", "3")
    monkeypatch.setenv("HEARTH_INDEX__MAX_FILE_MB", "4")
    slow = tmp_path / "slow.html"
    slow.write_bytes(attribute_flood(300_000))  # libxml2 would take hours over it
    big = tmp_path / "big.txt"
    big.write_text("The harbour lights come on at dusk.\n" * (5 * 2**20 // 36), encoding="utf-8")
    window = open_gui(tmp_path / "data")

    window.open_passage(Passage(n=1, chunk_id=1, document_id=1, path=str(slow), text="Many", score=1.0))
    wait_until(lambda: _refused(window), 90, "the slow file to be refused")
    assert window.viewer.error.text() == "slow.html cannot be shown: took longer than 3 s to read."
    window.open_passage(Passage(n=2, chunk_id=2, document_id=2, path=str(big), text="harbour", score=1.0))
    wait_until(lambda: _refused(window), 90, "the big file to be refused")
    assert window.viewer.error.text() == "big.txt cannot be shown: file is larger than the 4 MB limit."


@pytest.mark.timeout(120)
def test_names_and_headings_from_files_show_as_plain_text(
    open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a relative <img src> is looked for
    image = QImage(40, 1600, QImage.Format.Format_RGB32)  # drawn as rich text, it would make a label this tall
    image.fill(0x00AA3300)
    assert image.save(str(tmp_path / "tomato.png"))
    name = '<img src="tomato.png">.md'
    heading = f'Tomatoes <img src="{tmp_path / "tomato.png"}">'
    window = open_gui(tmp_path / "data")
    gone = Passage(n=1, chunk_id=1, document_id=1, path=str(tmp_path / name), heading=heading, text="x", score=1.0)

    window.open_passage(gone)
    wait_until(lambda: _refused(window), 60, "the missing file to be reported")
    viewer = window.viewer
    assert viewer.title.text() == name
    assert viewer.where.text() == f"[1] {heading}"
    assert viewer.error.text() == f"{name} cannot be shown: it is no longer at {gone.path}."
    tall = [line.objectName() for line in (viewer.title, viewer.where, viewer.error) if line.sizeHint().height() > 400]
    assert tall == []  # no label loaded the image


@pytest.mark.parametrize("script", ["run.sh", "notes.txt", "setup.py"])
def test_open_shows_a_program_or_script_in_its_folder_instead_of_running_it(
    open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    opened: list[str] = []

    def open_url(url: QUrl | str) -> bool:
        opened.append(QUrl(url).toLocalFile())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    folder = tmp_path / "notes"
    folder.mkdir()
    program = folder / script
    program.write_text("#!/bin/sh\necho the tomatoes are watered\n", encoding="utf-8")
    if script != "setup.py":
        program.chmod(0o755)  # setup.py is a script by its kind alone: some systems run .py files when opened
    document = folder / "garden.md"
    document.write_text("Tomatoes need full sun.", encoding="utf-8")
    window = open_gui(tmp_path / "data")
    viewer = window.viewer

    window.open_passage(Passage(n=1, chunk_id=1, document_id=1, path=str(program), text="echo", score=1.0))
    viewer.open_button.click()
    assert opened == [str(folder)]
    assert viewer.note.isVisibleTo(viewer) and script in viewer.note.text()

    window.open_passage(Passage(n=2, chunk_id=2, document_id=2, path=str(document), text="Tomatoes", score=1.0))
    assert not viewer.note.isVisibleTo(viewer)
    viewer.open_button.click()
    assert opened == [str(folder), str(document)]  # a document opens as before
