"""The Insights page: fed by its worker, says what it cannot compute, and its map restricts the chat."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from desktop.core.types import Feedback, MessageStatus, Timings
from desktop.services.home import Home
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import Recorder, wait_until
from tests.planted import passages


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
