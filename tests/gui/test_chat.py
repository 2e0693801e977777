"""Chat in the real window with the real engine: stream, cite, stop, switch, reopen.

One answer comes from the tiny default model, end to end. The others only need *some* answer (one
long enough to stop, or to close the window on), so the model host's words come from a script
(tests/scripted_host.py); the host process, the prompt, the engine and the stores stay real. Each
test starts its own conversation: none relies on what an earlier one left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import desktop.llm.host as host_module
from desktop.core.types import MessageStatus
from desktop.ui.facades.chat import AnswerState
from desktop.ui.main_window import MainWindow
from desktop.ui.message_widget import RENDER_INTERVAL_MS, AnswerMessage, shown_markdown
from tests.gui.conftest import OpenWindow, open_indexed_window
from tests.gui.helpers import Recorder, anchor_position, pump, shortcut, wait_until
from tests.scripted_host import Script, ScriptedHost, scripted_host

ANSWER_TIMEOUT = 240  # hang guards only: the tiny model is quick, but a busy CI machine is not
PIECE_DELAY_S = 0.01  # a scripted answer streams like a fast model: slow enough to be stopped mid-way


@pytest.fixture(scope="module")
def host_class() -> type[ScriptedHost]:
    """The engine's model host for this module: the real model until a test sets a script."""
    return scripted_host(None, delay_s=PIECE_DELAY_S)


@pytest.fixture(scope="module")
def engine_host(host_class: type[ScriptedHost]) -> Iterator[type[ScriptedHost]]:
    """Windows opened in this module give their engine that host."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(host_module, "ModelHost", host_class)
        yield host_class


@pytest.fixture(scope="module")
def window(hearth_app: QApplication, tmp_path_factory: pytest.TempPathFactory,
           engine_host: type[ScriptedHost]) -> Iterator[MainWindow]:
    """One window for the module: the embedder and the model load once."""
    window, indexed = open_indexed_window(tmp_path_factory.mktemp("chat") / "data", ANSWER_TIMEOUT)
    assert indexed.report is not None and indexed.report.added == 5
    yield window
    window.close()


@pytest.fixture
def script(host_class: type[ScriptedHost]) -> Iterator[Callable[[Script], None]]:
    """Sets what the host writes for this test; the real model answers again afterwards."""

    def use(answer: Script) -> None:
        host_class.script = staticmethod(answer)

    yield use
    host_class.script = None


def endless(prompt: str) -> Iterator[str]:
    """A story of 2,000 words, 20 s at the scripted pace: it is stopped long before it ends."""
    return (f"word{n} " for n in range(2000))


def new_chat(window: MainWindow) -> None:
    shortcut(window.chat.composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.chat.view.last_answer() is None and window.controller.chat.current is None


def ask(window: MainWindow, question: str) -> None:
    """Type the question and press Enter, as a person would."""
    window.chat.composer.focus_input()
    QTest.keyClicks(window.chat.composer.input, question)
    QTest.keyClick(window.chat.composer.input, Qt.Key.Key_Return)


def test_a_question_streams_a_cited_answer_with_its_sources(window: MainWindow) -> None:
    """End to end: the real model answers from the indexed corpus."""
    controller = window.controller
    new_chat(window)
    began, pieces, done = Recorder(controller.chat.began), Recorder(controller.chat.piece), Recorder(
        controller.chat.done)
    ask(window, "How often should tomatoes be watered?")
    assert controller.chat.streaming and window.chat.composer.button.toolTip().startswith("Stop")
    wait_until(lambda: done.items, ANSWER_TIMEOUT, "the answer")
    message = done.last.message
    assert began.items and began.last.passages, "retrieval found passages"
    assert pieces.items and "".join(p.text for p in pieces.items).strip()
    assert message.status == MessageStatus.COMPLETE and message.text.strip()

    answer = window.chat.view.last_answer()
    assert isinstance(answer, AnswerMessage) and answer.body.markdown() == shown_markdown(message)
    assert answer.text() == message.text
    # (How often it re-rendered while streaming is a rate: benchmarks/bench_gui.py measures it.)

    # Sources: the passages given to the model, with garden.md (the answer's source) among them.
    names = [Path(card.passage.path).name for card in window.sources.cards()]
    assert len(names) == len(message.passages) and "garden.md" in names
    # Every citation the model made is a clickable link to a passage it was shown.
    shown = {p.n for p in message.passages}
    for citation in message.citations:
        assert citation.n in shown
        anchor_position(answer.body, f"cite:{citation.n}")
    assert {p.n for p in message.passages if p.cited} == {c.n for c in message.citations}

    assert not controller.chat.streaming and window.chat.composer.button.toolTip().startswith("Send")
    assert "tokens/s" in window.status.speed.text()
    wait_until(lambda: "How often should tomatoes be watered?" in window.sidebar.titles(), 10,
               "the conversation in the list")


def long_answers(window: MainWindow, script: Callable[[Script], None]) -> None:
    """Endless answers, cut at 2,000 tokens (the module's answers stop at 24: too short to interrupt),
    without the files, for this test."""
    script(endless)
    before = window.controller.settings
    window.controller.apply_settings(
        before.model_copy(update={"generation": before.generation.model_copy(update={"max_tokens": 2000})})
    )  # reaches the engine before the question: both are queued to its thread, in order
    window.chat.composer.use_files.setChecked(False)


@pytest.fixture
def restore_settings(window: MainWindow) -> Iterator[None]:
    before = window.controller.settings
    yield
    window.chat.composer.use_files.setChecked(True)
    window.controller.apply_settings(before)


@pytest.mark.usefixtures("restore_settings")
def test_stop_ends_the_answer_within_a_token(window: MainWindow, script: Callable[[Script], None]) -> None:
    controller = window.controller
    new_chat(window)
    pieces, done = Recorder(controller.chat.piece), Recorder(controller.chat.done)
    states = Recorder(controller.chat.stateChanged)
    long_answers(window, script)
    ask(window, "Write a long story about a dragon who learns to bake bread.")
    wait_until(lambda: pieces.items, ANSWER_TIMEOUT, "the first token")
    shortcut(window.chat.composer.input, Qt.Key.Key_Escape)
    seen = len(pieces)
    wait_until(lambda: done.items, 30, "the stopped answer")  # how soon: benchmarks/bench_gui.py
    message = done.last.message
    assert message.status == MessageStatus.STOPPED
    assert len(pieces) - seen <= 2, "at most the token in flight arrives after Stop"
    answer = window.chat.view.last_answer()
    assert answer is not None and answer.note.text() == "Stopped"
    assert states.items == [AnswerState.ANSWERING, AnswerState.STOPPING, AnswerState.IDLE]
    assert window.chat.composer.button.toolTip() == "Send (Enter)"


def test_switching_conversations(window: MainWindow, script: Callable[[Script], None]) -> None:
    script(lambda prompt: ["Twice ", "a week."])
    done = Recorder(window.controller.chat.done)
    new_chat(window)
    ask(window, "How often do the beans need water?")
    wait_until(lambda: len(done) == 1, ANSWER_TIMEOUT, "the first answer")
    first = window.controller.chat.current
    new_chat(window)
    ask(window, "What does error code KX-409 mean?")
    wait_until(lambda: len(done) == 2, ANSWER_TIMEOUT, "the second answer")
    second = window.controller.chat.current
    assert first is not None and second is not None and first != second
    wait_until(lambda: {"How often do the beans need water?", "What does error code KX-409 mean?"}
               <= set(window.sidebar.titles()), 10, "both conversations in the list")

    titles = window.sidebar.titles()
    row = titles.index("How often do the beans need water?")
    index = window.sidebar.model.index(row, 0)
    QTest.mouseClick(window.sidebar.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     window.sidebar.list.visualRect(index).center())
    wait_until(lambda: window.chat.title.full_text() == "How often do the beans need water?", 10,
               "the first conversation to open")
    wait_until(lambda: window.chat.view.last_answer() is not None, 10, "its messages")
    assert window.chat.view.questions() == ["How often do the beans need water?"]
    assert window.controller.chat.current == first


def test_regenerate_replaces_the_last_answer_in_the_window_and_on_disk(
    window: MainWindow, script: Callable[[Script], None]
) -> None:
    controller = window.controller
    new_chat(window)
    script(lambda prompt: ["Unplug it."])
    done = Recorder(controller.chat.done)
    ask(window, "What does error code KX-409 mean?")
    wait_until(lambda: done.items, ANSWER_TIMEOUT, "the answer")
    first = done.last.message
    answer = window.chat.view.last_answer()
    assert answer is not None and answer.regenerate_button.isVisibleTo(answer)

    script(lambda prompt: ["Let it cool for ten minutes."])
    answer.regenerate_button.click()
    wait_until(lambda: len(done) == 2, ANSWER_TIMEOUT, "the answer again")
    again = done.last.message
    assert again.conversation_id == first.conversation_id and again.id != first.id
    assert again.text.startswith("Let it cool")
    assert window.chat.view.questions() == ["What does error code KX-409 mean?"]
    stored = controller.home.conversations()
    try:
        saved = stored.messages(first.conversation_id)
    finally:
        stored.close()
    assert [(m.role, m.id) for m in saved][-1] == ("assistant", again.id)
    assert [m.text for m in saved].count("What does error code KX-409 mean?") == 1 and first.id not in {
        m.id for m in saved
    }


def test_closing_mid_answer_saves_it_and_a_second_window_finds_it(
    open_gui: OpenWindow, tmp_path: Path, engine_host: type[ScriptedHost], script: Callable[[Script], None]
) -> None:
    data_dir = tmp_path / "data"
    window = open_gui(data_dir)  # its own window: closing it must not end the module's
    controller = window.controller
    began, pieces = Recorder(controller.chat.began), Recorder(controller.chat.piece)
    long_answers(window, script)
    ask(window, "Tell me a long story about a lighthouse keeper and a storm.")
    wait_until(lambda: len(pieces) >= 3, ANSWER_TIMEOUT, "a few tokens")
    pump(RENDER_INTERVAL_MS * 2)
    conversation = began.last.conversation_id
    shown = window.chat.view.last_answer().text()  # type: ignore[union-attr]
    window.close()  # a hang here is caught by the test's timeout; how long it takes: benchmarks/bench_gui.py
    assert all(not thread.running for thread in controller.threads.values())

    again = open_gui(data_dir)
    wait_until(lambda: "Tell me a long story about a lighthouse keeper and a storm." in again.sidebar.titles(), 30,
               "the saved conversations")
    # The conversation open at closing time is open again, with the answer that was cut short.
    wait_until(lambda: again.chat.view.last_answer() is not None, 30, "the last conversation to reopen")
    assert again.controller.chat.current == conversation
    answer = again.chat.view.last_answer()
    assert answer is not None and answer.message is not None
    assert answer.message.status == MessageStatus.STOPPED
    assert answer.message.text.startswith(shown.strip()[:20])
