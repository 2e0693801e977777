"""Chat with the real engine and the tiny default model: stream, cite, stop, switch, reopen."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.core.types import MessageStatus
from desktop.services.home import Home
from desktop.ui.main_window import MainWindow
from desktop.ui.message_widget import RENDER_INTERVAL_MS, AnswerMessage, shown_markdown
from desktop.workers.events import EnginePhase
from tests.gui.conftest import open_test_window, write_settings
from tests.gui.helpers import Recorder, anchor_position, pump, shortcut, wait_until
from tests.samples import write_corpus

pytestmark = pytest.mark.slow
ANSWER_TIMEOUT = 240  # the tiny model is quick, but a busy CI machine is not


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chat") / "data"


@pytest.fixture(scope="module")
def window(hearth_app: QApplication, data_dir: Path) -> Iterator[MainWindow]:
    """One window for the module: the embedder and the model load once."""
    corpus = data_dir.parent / "corpus"
    write_corpus(corpus)
    write_settings(data_dir)
    window = open_test_window(data_dir, preload=True)
    indexed = Recorder(window.controller.indexFinished)
    window.controller.add_paths([corpus])
    wait_until(lambda: indexed.items, ANSWER_TIMEOUT, "the corpus to be indexed")
    assert indexed.last.report is not None and indexed.last.report.added == 5
    status = window.controller
    wait_until(lambda: status.status is not None and status.status.phase == EnginePhase.READY, ANSWER_TIMEOUT,
               "the model and embedder to load")
    yield window
    window.close()


def ask(window: MainWindow, question: str) -> None:
    """Type the question and press Enter, as a person would."""
    window.chat.composer.focus_input()
    QTest.keyClicks(window.chat.composer.input, question)
    QTest.keyClick(window.chat.composer.input, Qt.Key.Key_Return)


def test_a_question_streams_a_cited_answer_with_its_sources(window: MainWindow) -> None:
    controller = window.controller
    began, pieces, done = Recorder(controller.answerBegan), Recorder(controller.answerPiece), Recorder(
        controller.answerDone)
    ask(window, "How often should tomatoes be watered?")
    assert controller.streaming and window.chat.composer.button.toolTip().startswith("Stop")
    wait_until(lambda: done.items, ANSWER_TIMEOUT, "the answer")
    message = done.last.message
    assert began.items and began.last.passages, "retrieval found passages"
    assert pieces.items and "".join(p.text for p in pieces.items).strip()
    assert message.status == MessageStatus.COMPLETE and message.text.strip()

    answer = window.chat.view.last_answer()
    assert isinstance(answer, AnswerMessage) and answer.body.markdown() == shown_markdown(message)
    assert answer.text() == message.text
    streamed_for = done.times[-1] - began.times[-1]
    assert answer.renders <= max(3, int(streamed_for * 20) + 2), "re-rendered at most ~20 times a second"

    # Sources: the passages given to the model, with garden.md (the answer's source) among them.
    names = [Path(card.passage.path).name for card in window.sources.cards()]
    assert len(names) == len(message.passages) and "garden.md" in names
    # Every citation the model made is a clickable link to a passage it was shown.
    shown = {p.n for p in message.passages}
    for citation in message.citations:
        assert citation.n in shown
        anchor_position(answer.body, f"cite:{citation.n}")
    assert {p.n for p in message.passages if p.cited} == {c.n for c in message.citations}

    assert not controller.streaming and window.chat.composer.button.toolTip().startswith("Send")
    assert "tokens/s" in window.status.speed.text()
    wait_until(lambda: "How often should tomatoes be watered?" in window.sidebar.titles(), 10,
               "the conversation in the list")


@contextmanager
def long_answers(window: MainWindow) -> Iterator[None]:
    """Free-running stories of up to 2,000 tokens (the module's answers stop at 24, about a quarter
    of a second at this model's speed: too short to interrupt)."""
    before = window.controller.settings
    window.controller.apply_settings(
        before.model_copy(update={"generation": before.generation.model_copy(update={"max_tokens": 2000})})
    )  # reaches the engine before the question: both are queued to its thread, in order
    window.chat.composer.use_files.setChecked(False)
    try:
        yield
    finally:
        window.chat.composer.use_files.setChecked(True)
        window.controller.apply_settings(before)


def test_stop_ends_the_answer_within_a_token(window: MainWindow) -> None:
    controller = window.controller
    pieces, done = Recorder(controller.answerPiece), Recorder(controller.answerDone)
    with long_answers(window):
        ask(window, "Write a long story about a dragon who learns to bake bread.")
        wait_until(lambda: pieces.items, ANSWER_TIMEOUT, "the first token")
        shortcut(window.chat.composer.input, Qt.Key.Key_Escape)
        stopped_at, seen = time.monotonic(), len(pieces)
        wait_until(lambda: done.items, 30, "the stopped answer")
    message = done.last.message
    assert message.status == MessageStatus.STOPPED
    assert len(pieces) - seen <= 2, "at most the token in flight arrives after Stop"
    assert done.times[-1] - stopped_at < 10
    answer = window.chat.view.last_answer()
    assert answer is not None and answer.note.text() == "Stopped"


def test_switching_conversations(window: MainWindow) -> None:
    done = Recorder(window.controller.answerDone)
    shortcut(window.chat.composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.chat.view.last_answer() is None and window.controller.current_conversation is None
    ask(window, "What does error code KX-409 mean?")
    wait_until(lambda: done.items, ANSWER_TIMEOUT, "the answer")
    second = window.controller.current_conversation
    wait_until(lambda: len(window.sidebar.titles()) >= 2, 10, "both conversations in the list")

    titles = window.sidebar.titles()
    row = titles.index("How often should tomatoes be watered?")
    index = window.sidebar.model.index(row, 0)
    QTest.mouseClick(window.sidebar.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     window.sidebar.list.visualRect(index).center())
    wait_until(lambda: window.chat.title.full_text() == "How often should tomatoes be watered?", 10,
               "the first conversation to open")
    wait_until(lambda: window.chat.view.last_answer() is not None, 10, "its messages")
    questions = window.chat.view.questions()
    assert questions[0] == "How often should tomatoes be watered?"
    assert "What does error code KX-409 mean?" not in questions
    assert window.controller.current_conversation != second


def test_regenerate_replaces_the_last_answer_in_the_window_and_on_disk(window: MainWindow) -> None:
    controller = window.controller
    done = Recorder(controller.answerDone)
    ask(window, "What does error code KX-409 mean?")
    wait_until(lambda: done.items, ANSWER_TIMEOUT, "the answer")
    first = done.last.message
    answer = window.chat.view.last_answer()
    assert answer is not None and answer.regenerate_button.isVisibleTo(answer)

    answer.regenerate_button.click()
    wait_until(lambda: len(done) == 2, ANSWER_TIMEOUT, "the answer again")
    again = done.last.message
    assert again.conversation_id == first.conversation_id and again.id != first.id
    questions = [q for q in window.chat.view.questions() if q == "What does error code KX-409 mean?"]
    assert len(questions) == 1, "the question is shown once, with the new answer"
    stored = Home(window.controller.data_dir, models_dir=window.controller.models_dir).conversations()
    try:
        saved = stored.messages(first.conversation_id)
    finally:
        stored.close()
    assert [m.id for m in saved][-1] == again.id and first.id not in {m.id for m in saved}
    assert [m.text for m in saved].count("What does error code KX-409 mean?") == 1


def test_closing_mid_answer_saves_it_and_a_second_window_finds_it(window: MainWindow, data_dir: Path) -> None:
    controller = window.controller
    pieces = Recorder(controller.answerPiece)
    conversation = controller.current_conversation
    with long_answers(window):
        ask(window, "Tell me a long story about a lighthouse keeper and a storm.")
        wait_until(lambda: len(pieces) >= 3, ANSWER_TIMEOUT, "a few tokens")
        pump(RENDER_INTERVAL_MS * 2)
        shown = window.chat.view.last_answer().text()  # type: ignore[union-attr]
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 20, "closing never hangs"
    assert all(not thread.running for thread in controller.threads.values())

    again = open_test_window(data_dir, preload=False)
    try:
        wait_until(lambda: "How often should tomatoes be watered?" in again.sidebar.titles(), 30,
                   "the saved conversations")
        # The conversation open at closing time is open again, with the answer that was cut short.
        wait_until(lambda: again.chat.view.last_answer() is not None, 30, "the last conversation to reopen")
        assert again.controller.current_conversation == conversation
        answer = again.chat.view.last_answer()
        assert answer is not None and answer.message is not None
        assert answer.message.status == MessageStatus.STOPPED
        assert answer.message.text.startswith(shown.strip()[:20])
    finally:
        again.close()
