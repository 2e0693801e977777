"""Files and folders dropped on the window are indexed in the background; models are added."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl

from desktop.core.types import IndexPhase
from tests.conftest import MODELS
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import Recorder, drag_over, drop, drop_files, pump, wait_until
from tests.samples import GARDEN, KETTLE, write_pdf
from tests.scans import page_image

INDEXING_TIMEOUT = 120


def test_dropped_files_and_folders_are_indexed(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    controller = window.controller
    started, progress = Recorder(controller.library.indexStarted), Recorder(controller.library.indexProgress)
    finished = Recorder(controller.library.indexFinished)
    files = tmp_path / "files"
    files.mkdir()
    (files / "garden.md").write_text(GARDEN, encoding="utf-8")
    (files / "kettle.txt").write_text(KETTLE, encoding="utf-8")
    (files / "photo.xyz").write_bytes(b"\x89not a document")

    # Dragging shows what a drop will do.
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(files / "garden.md"))])
    enter = drag_over(window.chat.composer.input, mime)
    assert enter.isAccepted() and window.overlay.isVisible()

    accepted = drop_files(window, [files / "garden.md", files / "kettle.txt", files / "photo.xyz"]).isAccepted()
    assert accepted and not window.overlay.isVisible()
    wait_until(lambda: len(started) == 1, 10, "indexing to start")
    assert window.indexing.isVisible()
    wait_until(lambda: len(finished) == 1, INDEXING_TIMEOUT, "indexing to finish")
    assert any(p.phase == IndexPhase.INDEXING and p.files_total == 2 for p in progress.items)
    assert max(p.files_done for p in progress.items) == 2
    result = finished.last
    assert result.report is not None and result.report.added == 2
    assert [Path(f.path).name for f in result.failed] == ["photo.xyz"]
    assert "unsupported" in result.failed[0].reason
    wait_until(lambda: sorted(window.library.document_names()) == ["garden.md", "kettle.txt"], 10,
               "the library to list the files")
    assert window.library.problems.count() == 1 and "photo.xyz" in window.library.problems.item(0).text()

    # A folder dropped on a child widget (the question box) is walked, nested folders included.
    folder = tmp_path / "notes"
    (folder / "astronomy").mkdir(parents=True)
    write_pdf(folder / "astronomy" / "saturn.pdf", ["Saturn's rings are made of ice."])
    (folder / "todo.md").write_text("# Todo\n\nWater the tomatoes on Sunday.\n", encoding="utf-8")
    (folder / ".hidden.md").write_text("ignored by the default patterns", encoding="utf-8")
    page_image(["Brinewater salt works receipt"]).save(folder / "astronomy" / "receipt.png")  # read by OCR
    accepted = drop_files(window.chat.composer.input, [folder]).isAccepted()
    assert accepted and window.chat.composer.input.toPlainText() == ""
    wait_until(lambda: len(finished) == 2, INDEXING_TIMEOUT, "the folder to be indexed")
    assert finished.last.report.added == 3 and not finished.last.failed
    assert any(p.step == "OCR page 1 of 1" and p.current_file.endswith("receipt.png") for p in progress.items)
    wait_until(lambda: {"saturn.pdf", "todo.md", "receipt.png"} <= set(window.library.document_names()), 10,
               "the folder listing")
    assert ".hidden.md" not in window.library.document_names()
    wait_until(lambda: "5 documents" in window.status.index.text(), 10, "the index size in the status bar")
    assert window.sidebar.library_button.text().endswith("5")


def test_a_dropped_model_is_added_to_the_picker(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    models = Recorder(window.controller.models.catalog)
    elsewhere = tmp_path / "downloads"
    elsewhere.mkdir()
    model = elsewhere / "my-model.gguf"
    os.symlink(MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf", model)
    started = Recorder(window.controller.library.indexStarted)
    drop_files(window, [model])
    wait_until(lambda: any(any(m.path == str(model) for m in c.models) for c in models.items), 30,
               "the dropped model to be listed")
    assert not started.items  # a model is not a document to index
    assert any(a.text().startswith("my-model") for a in window.chat.model_button.menu().actions())


def test_text_drops_are_left_to_the_widgets(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    started = Recorder(window.controller.library.indexStarted)
    mime = QMimeData()
    mime.setText("just some text")
    composer = window.chat.composer.input
    assert drop(composer, mime).isAccepted()  # the question box takes dropped text as typed text
    assert composer.toPlainText() == "just some text"
    assert not window.overlay.isVisible()
    pump(100)
    assert not started.items
