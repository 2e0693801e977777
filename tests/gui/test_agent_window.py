"""The assistant's tools in the window: the Agent switch, a card per step with its arguments in
full, and Approve / Allow for this chat / Reject on a writing tool; Stop while a card waits writes
nothing. The model host's words come from a script; the engine, the agent, the tools and the
stores are real."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import desktop.llm.host as host_module
from desktop.core.types import Approval, MessageStatus
from desktop.ui.main_window import MainWindow
from desktop.ui.tool_card import ToolCard
from tests.gui.conftest import open_indexed_window
from tests.gui.helpers import Recorder, wait_until
from tests.scripted_host import scripted_host

TIMEOUT = 240  # hang guard only
NOTE_TEXT = "Descale the kettle monthly with citric acid. " * 8  # longer than a card's line: shown in full


SHOW_JUPITER = "Show me the page on Jupiter"
OPENS = [  # a path outside the library, a page the document lacks, then the page
    {"tool": "open_in_viewer", "arguments": {"path": "/etc/passwd", "page": 1}},
    {"tool": "open_in_viewer", "arguments": {"path": "astronomy.pdf", "page": 9}},
    {"tool": "open_in_viewer", "arguments": {"path": "astronomy.pdf", "page": 3}},
]


def script(prompt: str) -> Iterable[str]:
    """Search, then write a note, then answer; asked to show Jupiter's page, open it (after two bad calls)."""
    if "Reply with one JSON object" not in prompt:
        return ["Saved the note [1]."]
    done = prompt.count('<result tool="')
    steps = [json.dumps(step) for step in OPENS] if SHOW_JUPITER in prompt else [
        json.dumps({"tool": "search_library", "arguments": {"query": "kettle descale"}}),
        json.dumps({"tool": "create_note", "arguments": {"title": "Kettle", "text": NOTE_TEXT}}),
    ]
    return [steps[done] if done < len(steps) else '{"tool": "answer"}']


@pytest.fixture(scope="module")
def window(hearth_app: QApplication, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MainWindow]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(host_module, "ModelHost", scripted_host(script))
        window, _ = open_indexed_window(tmp_path_factory.mktemp("agent") / "data", TIMEOUT)
        yield window
        window.close()


def ask_agent(window: MainWindow, question: str) -> None:
    composer = window.chat.composer
    QTest.keyClick(composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    composer.agent.setChecked(True)
    composer.focus_input()
    QTest.keyClicks(composer.input, question)
    QTest.keyClick(composer.input, Qt.Key.Key_Return)


def cards(window: MainWindow) -> list[ToolCard]:
    answer = window.chat.view.last_answer()
    assert answer is not None
    return [c for c in (answer.step_card(n) for n in range(1, 10)) if c is not None]


def notes(window: MainWindow) -> list[Path]:
    folder = window.controller.data_dir / "notes"
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def test_steps_show_in_full_and_a_note_is_written_once_approved(window: MainWindow) -> None:
    chat = window.controller.chat
    done = Recorder(chat.done)
    ask_agent(window, "Save a note on descaling the kettle")
    wait_until(lambda: len(cards(window)) == 2 and cards(window)[1].buttons.isVisible(), TIMEOUT,
               "the note's card to ask for approval")
    search, note = cards(window)
    assert search.result is not None and "kettle" in search.result.toPlainText().lower()
    assert json.loads(note.arguments.toPlainText()) == {"title": "Kettle", "text": NOTE_TEXT}
    assert not notes(window)  # nothing written before the click
    QTest.mouseClick(note.approve, Qt.MouseButton.LeftButton)
    wait_until(lambda: done.items, TIMEOUT, "the answer")
    message = done.last.message
    assert [r.approval for r in message.tool_calls] == [Approval.NOT_NEEDED, Approval.USER]
    assert [p.name for p in notes(window)] == ["Kettle.md"]
    assert note.result is not None and "Saved the note" in note.result.toPlainText()
    assert not note.buttons.isVisible() and "user" in note.status.text()

    # Reopened, the conversation shows its steps as they were saved.
    opened = Recorder(chat.opened)
    window.new_chat()
    window.open_conversation(message.conversation_id)
    wait_until(lambda: opened.items, TIMEOUT, "the conversation to open")
    wait_until(lambda: len(cards(window)) == 2, TIMEOUT, "the saved steps")
    assert json.loads(cards(window)[1].arguments.toPlainText())["text"] == NOTE_TEXT


def test_stop_while_a_card_waits_writes_nothing(window: MainWindow) -> None:
    chat = window.controller.chat
    before = notes(window)
    done = Recorder(chat.done)
    ask_agent(window, "Save another note on the kettle")
    wait_until(lambda: len(cards(window)) == 2 and cards(window)[1].buttons.isVisible(), TIMEOUT,
               "the note's card to ask for approval")
    chat.stop()
    wait_until(lambda: done.items, TIMEOUT, "the answer to stop")
    message = done.last.message
    assert message.status == MessageStatus.STOPPED
    assert [r.approval for r in message.tool_calls] == [Approval.NOT_NEEDED, Approval.REJECTED]
    assert notes(window) == before
    assert not cards(window)[1].buttons.isVisible()


def test_open_in_viewer_shows_the_library_document_at_its_page(window: MainWindow) -> None:
    done = Recorder(window.controller.chat.done)
    viewer = window.viewer
    ask_agent(window, SHOW_JUPITER)
    wait_until(lambda: done.items, TIMEOUT, "the answer")
    outside, beyond, shown = done.last.message.tool_calls
    assert not outside.ok and outside.result == (
        "error: '/etc/passwd' is not a document in the library (list_documents shows them)"
    )
    assert not beyond.ok and beyond.result == "error: astronomy.pdf has 3 page(s): give a page from 1 to 3"
    assert shown.ok and shown.result == "Opened astronomy.pdf at page 3 of 3 in the viewer for the user."
    # The same viewer a citation opens, at that page.
    assert window.side.isVisible() and window.side.currentWidget() is viewer
    wait_until(lambda: viewer.stack.currentWidget() is viewer.pdf, TIMEOUT, "the PDF to be shown")
    wait_until(lambda: viewer.pdf.current_page == 2, TIMEOUT, "the PDF to be at page 3")
    assert viewer.title.text() == "astronomy.pdf" and viewer.where.text() == "page 3"
    assert viewer.passage is not None and "Jupiter" in viewer.passage.text
