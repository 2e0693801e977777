"""The library panel and the chat list, with the real indexer but no chat model."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from desktop.core.control import Control
from desktop.core.settings import HearthSettings
from desktop.core.types import DocumentStatus
from desktop.services.home import Home
from desktop.store.sqlite import connect
from desktop.ui import appearance
from desktop.ui.main_window import MainWindow
from desktop.workers.events import ConversationList, IndexRequest
from desktop.workers.indexer import IndexWorker
from desktop.workers.threads import WorkerThread
from tests.gui.conftest import MODELS, OpenWindow
from tests.gui.helpers import Recorder, wait_until
from tests.samples import GARDEN, KETTLE
from tests.scans import blank_image

INDEXING_TIMEOUT = 180


def _indexed_window(open_gui: OpenWindow, tmp_path: Path) -> tuple[MainWindow, Path]:
    window = open_gui(tmp_path / "data")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text(GARDEN, encoding="utf-8")
    (notes / "kettle.txt").write_text(KETTLE, encoding="utf-8")
    finished = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([notes])
    wait_until(lambda: finished.items, INDEXING_TIMEOUT, "the notes to be indexed")
    wait_until(lambda: len(window.library.document_names()) == 2, 10, "the library listing")
    return window, notes


def test_remove_reindex_scope_and_folder_watching(open_gui: OpenWindow, tmp_path: Path) -> None:
    window, notes = _indexed_window(open_gui, tmp_path)
    controller, library = window.controller, window.library
    window.show_page("library")
    assert window.pages.currentWidget() is library

    # Unticking a document restricts the chat to the others.
    garden_id = next(d.id for d in library.snapshot.documents if d.path.endswith("garden.md"))
    library.set_used(str(notes / "kettle.txt"), False)
    wait_until(lambda: controller.chat.scope == (garden_id,), 5, "the chat scope")
    assert window.chat.composer.scope.text() == "1 document"
    library.select_all.click()
    wait_until(lambda: controller.chat.scope is None, 5, "the scope to be cleared")

    # The folder is watched: a new file is picked up without asking.
    finished = Recorder(controller.library.indexFinished)
    wait_until(lambda: str(notes) in controller.library.watched, 30, "the folder to be watched")
    (notes / "compost.md").write_text("# Compost\n\nTurn the heap every fortnight.\n", encoding="utf-8")
    wait_until(lambda: finished.items, 60, "the watcher to re-sync the folder")
    wait_until(lambda: "compost.md" in library.document_names(), 10, "the new file in the library")

    # Re-index reads a file again; remove takes it out of the library (not off the disk).
    garden = str(notes / "garden.md")
    controller.library.reindex((garden,))
    wait_until(lambda: len(finished) == 2, INDEXING_TIMEOUT, "the re-index")
    assert finished.last.report is not None and finished.last.report.added == 1
    controller.library.remove((garden,))
    wait_until(lambda: "garden.md" not in library.document_names(), 30, "the removal")
    assert (notes / "garden.md").exists()


def test_a_failing_request_is_a_banner_and_the_app_goes_on(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    finished = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([tmp_path / "does-not-exist"])
    wait_until(lambda: finished.items, 60, "the refused index run")
    assert window.banner.isVisible() and "No such file or folder" in window.banner.text.text()
    assert window.indexing.title.text() == "Indexing failed"
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model at all" * 100)
    window.controller.models.use(str(broken))
    wait_until(lambda: window.banner.problems[-1].source == "model", 60, "the model problem")
    assert "broken.gguf" in window.banner.text.text()
    window.banner.dismiss()
    assert "No such file" in window.banner.text.text()  # the earlier one is still there
    window.banner.dismiss()
    assert not window.banner.isVisible()


def test_conversations_rename_export_delete(open_gui: OpenWindow, tmp_path: Path) -> None:
    from desktop.core.types import MessageStatus
    from desktop.services.conversations import ConversationStore

    data = tmp_path / "data"
    store = ConversationStore(data / "conversations.sqlite3")
    first, second = store.create(), store.create()
    store.add_user_message(first.id, "What about the compost heap?")
    answer = store.start_answer(first.id, "test")
    store.finish_answer(answer, text="Turn it every fortnight.", status=MessageStatus.COMPLETE)
    store.rename(second.id, "Bread")
    store.close()

    window = open_gui(data)
    controller, sidebar = window.controller, window.sidebar
    wait_until(lambda: len(sidebar.titles()) == 2, 30, "the conversation list")
    listed = Recorder(controller.chat.conversations)

    controller.chat.rename(first.id, "Compost questions")
    wait_until(lambda: "Compost questions" in sidebar.titles(), 10, "the new title")
    sidebar.search.setText("compost")
    wait_until(lambda: sidebar.titles() == ["Compost questions"], 10, "the search result")
    assert isinstance(listed.last, ConversationList) and listed.last.search == "compost"
    sidebar.search.clear()

    exported = tmp_path / "export.md"
    controller.chat.export(first.id, exported, "markdown")
    wait_until(exported.exists, 10, "the Markdown export")
    assert "# Compost questions" in exported.read_text() and "Turn it every fortnight." in exported.read_text()
    as_json = tmp_path / "export.json"
    controller.chat.export(first.id, as_json, "json")
    wait_until(as_json.exists, 10, "the JSON export")
    assert json.loads(as_json.read_text())["messages"][1]["text"] == "Turn it every fortnight."

    window.open_conversation(second.id)
    wait_until(lambda: window.chat.title.full_text() == "Bread", 10, "the second conversation")
    controller.chat.delete(second.id)
    wait_until(lambda: sidebar.titles() == ["Compost questions"], 10, "the deletion")
    assert window.chat.title.full_text() == "New chat" and controller.chat.current is None


def test_settings_are_saved_and_reach_the_workers(open_gui: OpenWindow, tmp_path: Path) -> None:
    data = tmp_path / "data"
    window = open_gui(data)
    saved = Recorder(window.controller.models.settingsSaved)
    changed = window.controller.settings.updated(retrieval={"top_k": 7, "hybrid": False})
    window.controller.apply_settings(changed)
    wait_until(lambda: saved.items, 10, "the settings to be saved")
    on_disk = json.loads((data / "settings.json").read_text())
    assert on_disk["retrieval"] == {"top_k": 7, "hybrid": False}
    assert on_disk["generation"]["max_tokens"] == 24  # what was there is kept
    assert isinstance(saved.last, HearthSettings) and saved.last.retrieval.top_k == 7


def test_a_document_that_failed_shows_why(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    finished = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([broken])
    wait_until(lambda: finished.items, INDEXING_TIMEOUT, "the run")
    assert [Path(f.path).name for f in finished.last.failed] == ["broken.pdf"]
    wait_until(lambda: window.library.snapshot.documents, 10, "the library")
    document = window.library.snapshot.documents[0]
    assert document.status == DocumentStatus.FAILED and document.reason
    assert window.library.problems.count() == 1


def test_a_picture_without_text_is_shown_as_skipped_apart_from_failures(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    folder = tmp_path / "pictures"
    folder.mkdir()
    blank_image().save(folder / "photo.png")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "kettle.txt").write_text(KETTLE, encoding="utf-8")
    finished = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([folder])
    wait_until(lambda: finished.items, INDEXING_TIMEOUT, "the run")
    assert [Path(f.path).name for f in finished.last.failed] == ["broken.pdf"]
    model = window.library.model

    def status(path: Path) -> tuple[str, QColor | None]:
        cell = model.index_of(str(path)).siblingAtColumn(3)
        brush = model.data(cell, Qt.ItemDataRole.ForegroundRole)
        return model.data(cell, Qt.ItemDataRole.DisplayRole), brush.color() if brush is not None else None

    # A listing asked for during the run may arrive after the run's end: wait for the one after it.
    wait_until(lambda: len(window.library.document_names()) == 3 and status(folder / "kettle.txt")[0] != "Indexing",
               10, "the library listing after the run")
    assert status(folder / "photo.png") == ("Skipped: no text found (image)", appearance.colors().muted)
    broken, colour = status(folder / "broken.pdf")
    assert broken.startswith("Failed: ") and colour == appearance.colors().danger
    assert status(folder / "kettle.txt") == ("Indexed", None)
    assert status(folder)[0] == "1 failed, 1 skipped"
    summary = window.library.summary.text()
    assert "1 could not be read" in summary and "1 without text (skipped)" in summary
    assert window.library.problems.count() == 1  # the warnings list only what could not be read


def _notes(folder: Path, count: int, body: str) -> Path:
    """A folder of ``count`` Markdown notes, each a heading and ``body``: enough to index for a while."""
    folder.mkdir()
    for index in range(count):
        (folder / f"note-{index:03}.md").write_text(f"# Note {index}\n\n{body}", encoding="utf-8")
    return folder


def test_closing_during_indexing_stops_cleanly_and_keeps_the_work(open_gui: OpenWindow, tmp_path: Path) -> None:
    many = _notes(tmp_path / "many", 150, "A line about the garden. " * 80)
    data = tmp_path / "data"
    window = open_gui(data)
    progress = Recorder(window.controller.library.indexProgress)
    window.controller.add_paths([many])
    wait_until(lambda: any(p.phase == "indexing" for p in progress.items), INDEXING_TIMEOUT, "indexing to run")
    vector_host = window.controller.home.vector_host
    assert vector_host is not None  # the window's vectors are written by a child process (store/vector_host.py)
    wait_until(lambda: vector_host.pid is not None, INDEXING_TIMEOUT, "the vector host to start")
    child = psutil.Process(vector_host.pid)
    window.close()  # a hang here is caught by the test's timeout; how long it takes: benchmarks/bench_gui.py
    assert all(not thread.running for thread in window.controller.threads.values())
    assert vector_host.pid is None and not child.is_running()

    again = open_gui(data)
    wait_until(lambda: again.library.snapshot.documents, 30, "the library")
    assert len(again.library.snapshot.documents) < 150  # it really was stopped part-way


class _Checkpoints:
    """Watches the indexing thread's pause checkpoints: whether it is held at one, and how it got there."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, worker: IndexWorker) -> None:
        self.held = threading.Event()
        self.released = threading.Event()
        self.reported = 0  # progress the indexing thread sent, counted as it sends it
        self.reported_when_held = -1
        real = Control.checkpoint

        def checkpoint(control: Control) -> None:
            if control.paused:
                self.reported_when_held = self.reported
                self.held.set()
                real(control)
                self.released.set()
            else:
                real(control)

        monkeypatch.setattr(Control, "checkpoint", checkpoint)
        worker.job_progress.connect(self._count, Qt.ConnectionType.DirectConnection)

    def _count(self, _progress: object) -> None:
        self.reported += 1


def test_pause_resume_and_cancel(open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = _notes(tmp_path / "many", 120, "Compost and tomatoes. " * 90)
    window = open_gui(tmp_path / "data")
    bar = window.indexing
    checkpoints = _Checkpoints(monkeypatch, window.controller.indexer)
    library = window.controller.library
    progress, finished = Recorder(library.indexProgress), Recorder(library.indexFinished)
    window.controller.add_paths([many])
    wait_until(lambda: any(p.phase == "indexing" for p in progress.items), INDEXING_TIMEOUT, "indexing to run")
    bar.pause_button.click()
    assert bar.paused and bar.title.text() == "Indexing paused"
    # The file in flight may still report; then the indexing thread waits at its next checkpoint.
    wait_until(checkpoints.held.is_set, 60, "the indexing thread to hold at a checkpoint")
    QApplication.processEvents()  # what it reported before it held is shown now
    seen = len(progress)
    QApplication.processEvents()
    assert len(progress) == seen and checkpoints.reported == checkpoints.reported_when_held, (
        "no progress while paused")
    assert not checkpoints.released.is_set(), "still held until Resume"
    bar.pause_button.click()
    assert not bar.paused
    wait_until(lambda: len(progress) > seen, 60, "progress after resuming")
    bar.cancel_button.click()
    wait_until(lambda: finished.items, 60, "the cancelled run to end")
    assert finished.last.cancelled and bar.title.text() == "Indexing cancelled"


def _leave_unfinished(data_dir: Path, document: Path) -> None:
    """As a crash mid-run leaves it: the document is pending, with some of its passages stored."""
    db = connect(data_dir / "index" / "registry.sqlite3")
    db.execute("UPDATE documents SET status = 'pending' WHERE path = ?", (str(document),))
    db.close()


def test_a_run_left_unfinished_is_resumed_when_the_window_opens(open_gui: OpenWindow, tmp_path: Path) -> None:
    window, notes = _indexed_window(open_gui, tmp_path)
    data_dir = tmp_path / "data"
    window.close()
    _leave_unfinished(data_dir, notes / "garden.md")

    reopened = open_gui(data_dir)
    wait_until(
        lambda: {d.status for d in reopened.library.snapshot.documents} == {DocumentStatus.INDEXED},
        INDEXING_TIMEOUT, "the unfinished document to be finished",
    )
    assert "being indexed" not in reopened.library.summary.text()


def test_a_cancel_after_the_window_opened_also_cancels_the_resumption(open_gui: OpenWindow, tmp_path: Path) -> None:
    """Files dropped at once on opening run before the resumption; Cancel must stop both, not start the second."""
    window, notes = _indexed_window(open_gui, tmp_path)
    data_dir = tmp_path / "data"
    window.close()
    _leave_unfinished(data_dir, notes / "garden.md")

    worker = IndexWorker(Home(data_dir, models_dir=MODELS, settings=HearthSettings()))
    requests = _IndexRequests()
    requests.start.connect(worker.start)
    requests.index.connect(worker.index)
    requests.close.connect(worker.close)
    started, finished = Recorder(worker.job_started), Recorder(worker.job_finished)
    thread = WorkerThread(worker, "indexing")
    thread.start()
    try:
        worker.cancel()  # the user's Cancel, queued ahead of the resumption
        requests.start.emit()
        requests.index.emit(IndexRequest(paths=(str(notes),)))  # what the user asks for next still runs
        wait_until(lambda: finished.items, INDEXING_TIMEOUT, "the user's request to run")
        assert [s.paths for s in started.items] == [(str(notes),)], "the resumption ran after the user cancelled"
    finally:
        requests.close.emit()
        assert thread.join(30_000)


class _IndexRequests(QObject):
    """Queued requests into the indexing thread, as the controller sends them."""

    start = Signal()
    index = Signal(object)
    close = Signal()
