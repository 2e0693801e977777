"""The window shows what the checks found: a sentence no passage supports is marked, with a tooltip;
a citation opens the document with the supporting sentence highlighted; an answer nothing supports
has the files' own words under it.

The answer is made by the real answering service (real index, embedder and model host; the words
scripted, see tests/scripted_host.py), saved, then opened in the real window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QTextBrowser

from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.core.types import Message
from desktop.services.answering import Answerer, AnswerFinished
from desktop.services.conversations import ConversationStore
from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace
from desktop.ui.main_window import MainWindow
from desktop.ui.message_widget import UNSUPPORTED_TIP, AnswerMessage
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import anchor_position, click_link, wait_until
from tests.scripted_host import Script, scripted_host
from tests.test_answer_checks import BOILER, LOG, QUESTION, SERVICED, number_of

INVENTED = "The boiler runs on moonlight and strawberry jam."


def _answer(workspace: Workspace, folder: Path, script: Script) -> Message:
    folder.mkdir()
    (folder / "boiler.md").write_text(BOILER, encoding="utf-8")
    (folder / "log.md").write_text(LOG, encoding="utf-8")
    workspace.settings = HearthSettings(generation=GenerationSettings(max_tokens=40, context_length=2048))
    Indexer(workspace).index([folder])
    host = scripted_host(script)(data_dir=workspace.data_dir)
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    try:
        events = list(Answerer(workspace, store, host).ask(QUESTION))
    finally:
        host.close()
        store.close()
    return next(e for e in events if isinstance(e, AnswerFinished)).message


def _shown(open_gui: OpenWindow, workspace: Workspace, message: Message) -> tuple[AnswerMessage, MainWindow]:
    window = open_gui(workspace.data_dir)
    wait_until(lambda: window.sidebar.titles(), 30, "the conversation list")
    window.open_conversation(message.conversation_id)
    answer = wait_until(lambda: window.chat.view.last_answer(), 30, "the answer to be shown")
    assert isinstance(answer, AnswerMessage)
    return answer, window


def test_unsupported_sentences_are_marked_and_citations_highlight_the_supporting_sentence(
    open_gui: OpenWindow, workspace: Workspace, tmp_path: Path
) -> None:
    message = _answer(workspace, tmp_path / "notes", lambda prompt: [
        f"The boiler must be serviced once a year [{number_of(prompt, 'boiler.md')}]. ", INVENTED,
    ])
    answer, window = _shown(open_gui, workspace, message)
    assert answer.text() == message.text, "Copy gives the answer as written, without marks"

    view = answer.body
    marked = view.cursorForPosition(anchor_position(view, "unsupported:")).charFormat()
    assert marked.toolTip() == UNSUPPORTED_TIP
    assert _anchor_text(view, "unsupported:") == INVENTED
    click_link(view, "unsupported:")  # a mark, not a link: nothing opens, nothing is copied
    assert window.side.currentWidget() is not window.viewer

    boiler = next(p for p in message.passages if p.path.endswith("boiler.md"))
    click_link(view, f"cite:{boiler.n}")
    viewer = window.viewer
    wait_until(lambda: viewer.stack.currentWidget() is viewer.text, 30, "the note to be shown")
    assert viewer.text.supporting_text() == [SERVICED]


def test_an_answer_nothing_supports_has_the_files_words_under_it(
    open_gui: OpenWindow, workspace: Workspace, tmp_path: Path
) -> None:
    message = _answer(workspace, tmp_path / "notes", lambda prompt: ["Cats enjoy sleeping in warm laundry baskets."])
    answer, _ = _shown(open_gui, workspace, message)
    shown = answer.body.document().toPlainText()
    assert "From your files:" in shown and SERVICED in shown
    assert answer.text() == message.text


def _anchor_text(view: QTextBrowser, href: str) -> str:
    found = []
    block = view.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().anchorHref() == href:
                found.append(fragment.text())
            iterator += 1
        block = block.next()
    return "".join(found)
