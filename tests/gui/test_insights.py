"""The Insights page: fed by its worker, says what it cannot compute, and its map restricts the chat."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from desktop.core.types import AnswerSetup, Feedback, MessageStatus, Timings
from desktop.services.conversations import ConversationStore
from desktop.services.home import Home
from desktop.services.indexing import Indexer
from desktop.services.insights import answer_insights
from desktop.services.library_insights import library_insights
from desktop.ui.insights_page import InsightsPage
from desktop.workers.events import InsightsSnapshot
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import Recorder, wait_until
from tests.planted import BOILER, passages, write_copies


def test_insights_page_draws_the_map_and_a_topic_click_scopes_the_chat(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    notes = tmp_path / "notes"
    notes.mkdir()
    for subject in ("baking", "astronomy"):
        for n, text in enumerate(passages(subject, 15, seed=0)):
            (notes / f"{subject}-{n}.txt").write_text(text, encoding="utf-8")
    finished = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([notes])
    wait_until(lambda: finished.items, 180, "the notes to be indexed")

    window.sidebar.insights_button.click()
    page = window.insights
    wait_until(lambda: page.map.isVisible() and page.map._map is not None, 120, "the topic map")
    assert "No answers yet" in page.answers_note.text()
    assert "2 topics in 30 passages" in page.map_note.text()
    assert "like" in page.drift.text() or "needed" in page.drift.text()

    topic = page.map._map.topics[0] if page.map._map else None
    assert topic is not None
    centre = page.map._position(topic.x, topic.y).toPoint()
    QTest.mouseClick(page.map, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(centre))
    assert window.pages.currentWidget() is window.chat
    assert window.controller.chat.scope == tuple(topic.document_ids)


def test_feedback_on_an_answer_is_saved(open_gui: OpenWindow, tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = Home(data).conversations()
    chat = store.create()
    store.add_user_message(chat.id, "How long does the dough rise?")
    answer_id = store.start_answer(chat.id, "smol.gguf")
    store.finish_answer(answer_id, text="Overnight.", status=MessageStatus.COMPLETE, timings=Timings(total_ms=900))
    store.close()
    window = open_gui(data)
    window.open_conversation(chat.id)
    wait_until(lambda: window.chat.view.answers(), 30, "the answer to be shown")
    saved = Recorder(window.controller.insights.feedbackSaved)
    window.chat.view.answers()[-1].feedback_buttons[Feedback.DOWN].click()
    wait_until(lambda: saved.items, 30, "the feedback to be saved")
    assert saved.items[-1].feedback is Feedback.DOWN
    assert Home(data).conversations().message(answer_id).feedback is Feedback.DOWN


def _answer_confirmation(accept: bool, seen: list[str]) -> None:
    """Read the open confirmation, then press Forget or Cancel."""
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox)
    seen.append(" ".join(w.text() for w in box.findChildren(QLabel) if w.text()))
    if accept:
        next(b for b in box.buttons() if b.text() == "Forget").click()
    else:
        box.reject()


def test_forget_the_copy_asks_naming_both_files_then_forgets_in_the_indexing_thread(
    open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forgotten_in: list[threading.Thread] = []
    forget = Indexer.forget

    def recorded(self: Indexer, paths: list[Path]) -> int:
        forgotten_in.append(threading.current_thread())
        return forget(self, paths)

    monkeypatch.setattr(Indexer, "forget", recorded)
    window = open_gui(tmp_path / "data")
    files = write_copies(tmp_path / "notes")
    finished = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([tmp_path / "notes"])
    wait_until(lambda: finished.items, 180, "the notes to be indexed")
    window.sidebar.insights_button.click()
    page = window.insights
    wait_until(lambda: page.duplicate_rows, 120, "the copies to be listed")
    (row,) = page.duplicate_rows
    copies = [c.path for c in row.group.copies]
    assert {row.group.kept, *copies} == {str(files[k]) for k in ("markdown", "html", "edited")}
    assert row.button.text() == "Forget the copies"

    seen: list[str] = []
    QTimer.singleShot(0, lambda: _answer_confirmation(False, seen))
    row.button.click()
    assert row.button.isEnabled() and not forgotten_in  # cancelled: nothing forgotten
    QTimer.singleShot(0, lambda: _answer_confirmation(True, seen))
    row.button.click()
    assert all(row.group.kept in text and all(c in text for c in copies) for text in seen)
    assert "not deleted" in seen[-1]
    wait_until(lambda: "None" in page.duplicates_note.text(), 120, "the copies to be forgotten and looked for again")
    assert not page.duplicate_rows
    assert forgotten_in and forgotten_in[0] is not threading.main_thread()
    library = {d.path for d in window.controller.library.snapshot.documents}
    assert row.group.kept in library and not library & set(copies)
    assert all(Path(c).is_file() for c in copies)


def test_an_empty_library_and_no_answers_are_said_in_words(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    window.sidebar.insights_button.click()
    page = window.insights
    wait_until(lambda: "Looking" not in page.duplicates_note.text(), 120, "the library figures")
    assert "No answers yet" in page.answers_note.text() and not page.chart_view.isVisible()
    assert "a map needs at least" in page.map_note.text() and not page.map.isVisible()
    assert "No indexing run" in page.drift.text()
    assert "empty" in page.duplicates_note.text() and not page.duplicate_rows


def test_bad_inputs_are_said_in_words_not_drawn(hearth_app: QApplication, workspace: Any, tmp_path: Path) -> None:
    """Ten answers, none rated, the model renamed half-way; a library of identical passages."""
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    for model in ("smol.gguf",) * 5 + ("smol-renamed.gguf",) * 5:
        chat = store.create()
        store.add_user_message(chat.id, "How long does the dough rise?")
        answer = store.start_answer(chat.id, model)
        store.finish_answer(answer, text="Overnight.", status=MessageStatus.COMPLETE, confidence=0.6,
                            timings=Timings(total_ms=900, time_to_first_token_ms=200),
                            setup=AnswerSetup(model=model, generation="g1", index="1@1"))
    folder = tmp_path / "same"
    folder.mkdir()
    for n in range(30):
        (folder / f"note-{n:02}.txt").write_text(" ".join(BOILER[:2]), encoding="utf-8")
    Indexer(workspace).index([folder])

    page = InsightsPage()
    page.show_snapshot(InsightsSnapshot(
        answers=answer_insights(store, now=time.time()), library=library_insights(workspace, tmp_path / "insights"),
    ))
    assert page.answers_note.text().startswith("10 answers, 0 rated")
    assert "smol.gguf: 5 answers" in page.models.text() and "smol-renamed.gguf: 5 answers" in page.models.text()
    assert "thumbs up —" in page.models.text()  # no feedback: no rate, no interval
    assert "model smol.gguf → smol-renamed.gguf" in page.changes.text() and "10 on each side" in page.changes.text()
    assert "10 in each are needed" in page.query_drift.text()
    assert "alike" in page.map_note.text() and page.map._map is None
    assert "needed" in page.drift.text()  # every passage is new: nothing to compare them with
    (row,) = page.duplicate_rows
    assert len(row.group.copies) == 29 and row.button.text() == "Forget the copies"
    store.close()
