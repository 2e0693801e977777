"""Text Hearth did not write is shown as text, and nothing it names is ever opened.

File names, headings, conversation titles, model names and the model's answers are data. Qt renders
a label, tooltip or message box that looks like HTML as rich text and loads its ``<img src>`` from
disk, and the chat's Markdown makes an image of ``![x](path)``: a named pipe there blocks the GUI
thread forever, /dev/zero eats memory until the process is killed. The hostile strings below point
at a real FIFO that another process watches (``WatchedPipe``): a read of it is counted, not a hang.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QHelpEvent, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QMessageBox,
    QToolTip,
    QWidget,
)

from desktop.core.types import Message, MessageStatus, Passage
from desktop.services.conversations import ConversationStore
from desktop.services.indexing import Indexer
from desktop.services.library import answer_library_question
from desktop.services.workspace import Workspace
from desktop.ui.main_window import MainWindow
from desktop.ui.markdown_view import MarkdownView
from desktop.ui.message_widget import AnswerMessage
from desktop.ui.models_dialog import ModelsDialog
from desktop.ui.settings_dialog import SettingsDialog
from tests.conftest import REPO
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import Recorder, WatchedPipe, anchor_position, wait_until
from tests.llm.helpers import write_gguf

PIPE = "pipe"  # relative: each test runs in the FIFO's folder, so even a file name can point at it
IMG = f"<img src={PIPE}>"
INDEXING_TIMEOUT = 180


def show_tooltip(widget: QWidget, at: QPoint) -> str:
    """Hover ``widget`` at ``at`` as the mouse would; the text of the tooltip Qt then shows."""
    QToolTip.hideText()
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, at, widget.mapToGlobal(at)))
    tips = [w for w in QApplication.topLevelWidgets() if w.windowType() == Qt.WindowType.ToolTip]
    assert tips and all(isinstance(t, QLabel) and t.textFormat() == Qt.TextFormat.PlainText for t in tips)
    return QToolTip.text()


def _indexes(view: QAbstractItemView, parent: QModelIndex) -> Iterator[QModelIndex]:
    model = view.model()
    for row in range(model.rowCount(parent)):
        column = 0  # (columnCount is private in a list widget's model)
        while (index := model.index(row, column, parent)).isValid():
            yield index
            column += 1
        yield from _indexes(view, model.index(row, 0, parent))


def every_tooltip(root: QWidget) -> list[tuple[str, str]]:
    """(tooltip, what Qt showed) for each visible widget and item view row under ``root`` that has one."""
    shown = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        if widget.toolTip():
            shown.append((widget.toolTip(), show_tooltip(widget, widget.rect().center())))
        if isinstance(widget, QAbstractItemView) and not isinstance(widget, QHeaderView):  # a header shows no rows
            for index in _indexes(widget, QModelIndex()):
                if tip := index.data(Qt.ItemDataRole.ToolTipRole):
                    widget.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
                    shown.append((tip, show_tooltip(widget.viewport(), widget.visualRect(index).center())))
    return shown


def rich_labels(root: QWidget) -> list[str]:
    """The labels under ``root`` that Qt would render as HTML if their text looked like it."""
    return [w.text() for w in root.findChildren(QLabel) if w.textFormat() != Qt.TextFormat.PlainText]


@pytest.mark.timeout(120, method="thread")  # hang guard: a thread stuck in open() ignores signals
def test_an_answer_shows_what_it_names_and_opens_none_of_it(
    hearth_app: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with WatchedPipe(tmp_path / PIPE) as pipe:
        answer = AnswerMessage(Message(
            id=2, conversation_id=1, role="assistant", created_at=0.0, status=MessageStatus.COMPLETE,
            text=f"Water twice a week ![a watering can]({PIPE}) [1]. {IMG} See [the schedule]({PIPE} '{IMG}').",
        ))
        answer.resize(700, 300)
        answer.show()
        answer.grab()
        body = answer.body
        # The image is its alt text, the HTML is text, and the link's title is a plain tooltip.
        assert body.toPlainText() == f"Water twice a week a watering can [1]. {IMG} See the schedule."
        assert show_tooltip(body.viewport(), anchor_position(body, PIPE)) == IMG
        # However an image gets into the view's document, and however Qt asks for it, nothing is read.
        QTextCursor(body.document()).insertImage(PIPE)
        answer.grab()
        for name in (QUrl(PIPE), QUrl.fromLocalFile(str(tmp_path / PIPE))):
            for kind in QTextDocument.ResourceType:
                body.document().resource(kind.value, name)  # what Qt's layout asks for
        assert pipe.opens() == 0


def test_an_answer_naming_dev_zero_costs_no_memory() -> None:
    """In a process capped at 512 MB above its size: reading /dev/zero would hit the cap and abort."""
    probe = subprocess.run(
        [sys.executable, "-m", "tests.gui.render_probe", "Zeros ![zero](/dev/zero) and [more](/dev/zero 't').",
         "512"],
        cwd=REPO, capture_output=True, text=True, timeout=150,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.strip() == "Zeros zero and more."


def _stored_conversation(data: Path, note: Path) -> int:
    """A conversation as an earlier session saved it: a hostile question, model name, answer and passage."""
    data.mkdir(parents=True)
    store = ConversationStore(data / "conversations.sqlite3")
    conversation = store.create()
    store.add_user_message(conversation.id, f"How do I water tomatoes {IMG}?")  # also its title
    answer = store.start_answer(conversation.id, f"{IMG} model")
    passage = Passage(n=1, chunk_id=1, document_id=1, path=str(note), heading=f"Garden > Tomatoes {IMG}",
                      text=f"Water tomatoes deeply {IMG}", score=0.5, cited=True)
    store.finish_answer(answer, text=f"Twice a week [1] ![a can]({PIPE}) [the schedule]({PIPE} '{IMG}')",
                        status=MessageStatus.COMPLETE, passages=[passage], notes=[IMG])
    store.close()
    return conversation.id


def _confirm_box_texts(window: MainWindow, path: Path) -> list[tuple[str, Qt.TextFormat]]:
    """Ask to remove ``path`` from the library; the texts of the confirmation shown (then cancelled)."""
    seen: list[tuple[str, Qt.TextFormat]] = []

    def look() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.extend((w.text(), w.textFormat()) for w in box.findChildren(QLabel) if w.text())
        box.reject()

    library = window.library
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    library.tree.selectionModel().select(library.model.index_of(str(path)), flags)
    QTimer.singleShot(0, look)
    library.remove_button.click()
    return seen


@pytest.mark.timeout(400, method="thread")  # hang guard, as above
def test_names_headings_titles_and_tooltips_are_shown_as_text(
    open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes"
    notes.mkdir()
    note = notes / f"{IMG}.md"
    note.write_text(f"# Garden\n\n## Tomatoes {IMG}\n\nWater tomatoes deeply twice a week.\n", encoding="utf-8")
    broken = notes / f"{IMG} broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a pdf")
    model = write_gguf(tmp_path / f"{IMG}.gguf")
    with WatchedPipe(tmp_path / PIPE) as pipe:
        conversation = _stored_conversation(tmp_path / "data", note)
        window = open_gui(tmp_path / "data")
        controller = window.controller
        finished, done = Recorder(controller.library.indexFinished), Recorder(controller.chat.done)
        controller.add_paths([tmp_path / IMG])  # nothing there: a problem that names it
        wait_until(lambda: IMG in window.banner.text.text(), 60, "the banner")
        controller.add_paths([notes, model])
        wait_until(lambda: len(finished) == 2, INDEXING_TIMEOUT, "the notes to be indexed")

        # A library answer lists the file by its exact name.
        window.chat.composer.focus_input()
        QTest.keyClicks(window.chat.composer.input, "Which files do I have about tomatoes?")
        QTest.keyClick(window.chat.composer.input, Qt.Key.Key_Return)
        wait_until(lambda: done.items, 60, "the library answer")
        listed = window.chat.view.last_answer()
        assert listed is not None and f"{IMG}.md [1]" in listed.body.toPlainText()

        # The saved conversation: its title, answer, model name, note and sources.
        window.open_conversation(conversation)
        wait_until(lambda: [c for c in window.sources.cards() if c.isVisible()], 30, "the sources")
        answer = window.chat.view.last_answer()
        assert answer is not None and answer.meta.text() == f"{IMG} model" and answer.note.text() == f"Note: {IMG}"
        assert answer.body.toPlainText() == "Twice a week [1] a can the schedule"
        card = window.sources.cards()[0]
        assert f"{IMG}.md" in [w.text() for w in card.findChildren(QLabel)]
        assert card.meta.text() == f"Garden › Tomatoes {IMG} · cited"
        assert window.chat.title.full_text() == f"How do I water tomatoes {IMG}?"

        # Every tooltip, hovered: on the chat page, the library page and in the models dialog.
        shown = every_tooltip(window)
        shown.append((IMG, show_tooltip(answer.body.viewport(), anchor_position(answer.body, PIPE))))
        window.show_page("library")
        wait_until(lambda: f"{IMG}.md" in window.library.document_names(), 10, "the library listing")
        shown += every_tooltip(window.library)
        window.show_models()
        dialog = window.findChild(ModelsDialog)
        assert dialog is not None
        wait_until(lambda: any(m.path == str(model) for m in dialog.models), 30, "the added model")
        shown += every_tooltip(dialog)
        assert [(tip, text) for tip, text in shown if text != tip] == []
        hostile = {tip for tip, _ in shown if IMG in tip}
        assert {
            f"{note}\nClick to open it at this passage",  # source card
            f"How do I water tomatoes {IMG}?",  # the chat's title
            f"How do I water tomatoes {IMG}?\n2 messages",  # the conversation list
            IMG,  # a link's title in the answer
            str(note),  # the library's row
            str(broken),  # the indexing problems
            str(model),  # the models table
        } <= hostile

        # Labels and message boxes: plain text, all of them.
        assert _confirm_box_texts(window, note) == [
            (f"Remove {IMG}.md from the library? The files themselves are not touched.", Qt.TextFormat.PlainText)
        ]
        settings = SettingsDialog(controller.settings, tmp_path / "data", parent=window)
        assert rich_labels(window) == [] and rich_labels(settings) == []
        assert pipe.opens() == 0


FILE_NAMES = [
    f"{IMG}.md", f"![a can]({PIPE}).md", "www.example.com.md", "ann@example.com.md", "*not bold* _nor this_.md",
    "[1] notes.md", "# not a heading.md", "1. not a list.md", "a | b.md", "&amp; co.md", "`code`.md",
]


def _char_formats(document: QTextDocument) -> Iterator[tuple[str, QTextCharFormat]]:
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            yield fragments.fragment().text(), fragments.fragment().charFormat()
            fragments += 1
        block = block.next()


def _markdown_shows(markdown: str) -> list[str]:
    """The lines a Markdown renderer shows for ``markdown``; fails if it made a link or an image."""
    document = QTextDocument()
    document.setMarkdown(markdown, QTextDocument.MarkdownFeature.MarkdownDialectGitHub)
    assert [text for text, look in _char_formats(document) if look.isAnchor() or look.isImageFormat()] == []
    return document.toPlainText().splitlines()


def test_library_answers_name_files_exactly(hearth_app: QApplication, workspace: Workspace, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in FILE_NAMES:
        (notes / name).write_text("Tomatoes want deep watering twice a week.\n", encoding="utf-8")
    Indexer(workspace).index([notes])

    listing = answer_library_question("List my documents", workspace)
    assert listing is not None
    lines = _markdown_shows(listing.text)
    assert lines[0] == f"You have {len(FILE_NAMES)} indexed documents:"
    assert sorted(lines[1:]) == sorted(f"{name} (markdown, 1 passage)" for name in FILE_NAMES)

    about = answer_library_question(f"Which files do I have about tomatoes {IMG}?", workspace)
    assert about is not None
    lines = _markdown_shows(about.text)
    assert lines[0] == f"Documents about tomatoes {IMG}:"
    assert sorted(line.rsplit(" [", 1)[0] for line in lines[1:]) == sorted(FILE_NAMES)
    view = MarkdownView()  # and in the chat, only the citations are links
    view.set_markdown(about.text)
    assert view.toPlainText().splitlines()[1:] == lines[1:]
    links = [look.anchorHref() for _, look in _char_formats(view.document()) if look.isAnchor()]
    assert sorted(links) == sorted(f"cite:{n}" for n in range(1, len(FILE_NAMES) + 1))
