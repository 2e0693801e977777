"""The widgets on their own: the question box, the Markdown view, streaming, dialogs, shortcuts."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from desktop.core.settings import BackendSettings, HearthSettings
from desktop.core.types import DocumentInfo, DocumentStatus, Message, MessageStatus, Passage, SearchHit
from desktop.services.answering import to_passages
from desktop.services.home import Home
from desktop.ui.composer import Composer
from desktop.ui.controller import Controller
from desktop.ui.facades.chat import AnswerState
from desktop.ui.library_page import LibraryPage
from desktop.ui.main_window import MainWindow
from desktop.ui.markdown_view import MarkdownView, linkify_citations
from desktop.ui.message_widget import AnswerMessage
from desktop.ui.models_dialog import ModelsDialog
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.sources_panel import SourcesPanel
from desktop.ui.status_bar import StatusBar
from desktop.workers.events import LibrarySnapshot, ModelCatalog
from tests.conftest import MODELS
from tests.gui.conftest import open_test_window, write_settings
from tests.gui.helpers import Recorder, click_link, shortcut, wait_until


def test_enter_sends_and_shift_enter_breaks_the_line(hearth_app: QApplication) -> None:
    composer = Composer()
    sent = Recorder(composer.submitted)
    QTest.keyClicks(composer.input, "first line")
    QTest.keyClick(composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(composer.input, "second line")
    assert composer.input.toPlainText() == "first line\nsecond line"
    assert not sent.items
    QTest.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent.items == ["first line\nsecond line"]
    assert composer.input.toPlainText() == ""


def test_nothing_is_sent_while_an_answer_streams(hearth_app: QApplication) -> None:
    composer = Composer()
    sent, stopped = Recorder(composer.submitted), Recorder(composer.stopRequested)
    composer.set_streaming(True)
    QTest.keyClicks(composer.input, "another question")
    QTest.keyClick(composer.input, Qt.Key.Key_Return)
    composer.button.click()
    assert not sent.items and len(stopped) == 1
    assert composer.input.toPlainText() == "another question"  # kept for later


def test_citations_become_links_but_not_inside_code() -> None:
    text = linkify_citations("Tomatoes [1]. Saturn [2, 3]. `a[1]` and\n```\nx[1]\n```\n")
    assert "[\\[1\\]](cite:1)" in text and "[\\[2\\]](cite:2)[\\[3\\]](cite:3)" in text
    assert "`a[1]`" in text and "\nx[1]\n" in text


def test_markdown_view_never_loads_or_follows_anything(hearth_app: QApplication) -> None:
    view = MarkdownView()
    view.resize(500, 100)
    cited, links = Recorder(view.citationClicked), Recorder(view.linkClicked)
    view.set_markdown("See [2] and [the site](https://example.com) ![x](https://example.com/a.png)")
    assert view.toPlainText() == "See [2] and the site x"  # the image is its alt text: nothing to fetch
    assert not view.openLinks() and not view.openExternalLinks()
    view.show()
    click_link(view, "cite:2")
    click_link(view, "https://example.com")
    assert cited.items == [2]
    assert [url.toString() for url in links.items] == ["https://example.com"]
    assert view.source().isEmpty()  # the view did not navigate


def test_streaming_pieces_are_rendered_together_on_the_next_tick(hearth_app: QApplication) -> None:
    """Pieces never render one by one: all that arrive before the render timer fires share one render,
    so renders are bounded by the timer (20 a second; the rate itself: benchmarks/bench_gui.py)."""
    answer = AnswerMessage()
    answer.resize(600, 200)
    answer.show()
    answer.begin(1, ())
    for index in range(150):
        answer.append(f"word{index} ")
    assert answer.renders == 0, "appending alone never renders"
    wait_until(lambda: answer.renders, 10, "the render timer")
    assert answer.renders == 1 and answer.body.markdown().endswith("word149 ")
    for index in range(150, 300):
        answer.append(f"word{index} ")
    wait_until(lambda: answer.renders == 2, 10, "the next render")
    assert answer.body.markdown().startswith("word0 ") and answer.body.markdown().endswith("word299 ")


def test_a_finished_answer_shows_its_status_and_speed(hearth_app: QApplication) -> None:
    passage = Passage(n=1, chunk_id=1, document_id=1, path="/x/notes.md", text="t", score=0.5, cited=True)
    message = Message(
        id=3, conversation_id=1, role="assistant", text="Stopped here [1]", created_at=0.0,
        status=MessageStatus.STOPPED, passages=(passage,),
    )
    answer = AnswerMessage(message)
    assert answer.note.text() == "Stopped"
    assert answer.sources_button.text() == "Sources (1)"


def test_settings_dialog_refuses_an_invalid_value_with_the_reason(hearth_app: QApplication, tmp_path: Path) -> None:
    dialog = SettingsDialog(HearthSettings(), tmp_path)
    # Titles, tooltips and the rebuild note come from the settings model's own field metadata.
    assert dialog.chunk_tokens.toolTip() == "Word pieces per passage (32–254)"
    assert dialog.hybrid.text() == "Combine keyword and meaning search"
    notes = [w.text() for w in dialog.findChildren(QLabel) if "re-reading" in w.text()]
    assert notes == ["Changing the passage size or passage overlap means re-reading every document."]
    dialog.chunk_tokens.setValue(100)
    dialog.chunk_overlap.setValue(60)  # must be less than half the passage size
    dialog.accept()
    assert dialog.result_settings is None and dialog.error.isVisibleTo(dialog)
    assert "chunk_overlap must be less than half of chunk_tokens" in dialog.error.text()
    dialog.top_k.setValue(500)
    dialog.chunk_overlap.setValue(20)
    dialog.accept()
    assert "top_k" in dialog.error.text() and "100" in dialog.error.text()
    dialog.top_k.setValue(8)
    dialog.hybrid.setChecked(False)
    dialog.ocr.setChecked(False)
    dialog.ignore.setPlainText("*.tmp\nsecret")
    dialog.rebuild = False
    dialog.chunk_tokens.setValue(200)
    dialog.chunk_overlap.setValue(32)
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.retrieval.top_k == 8 and not dialog.result_settings.retrieval.hybrid
    assert dialog.result_settings.index.ignore_patterns == ["*.tmp", "secret"]
    assert dialog.result_settings.index.ocr is False


def test_models_dialog_lists_models_and_validates_generation(hearth_app: QApplication) -> None:
    from desktop.services.models import available_models
    from desktop.services.workspace import Workspace

    models = available_models(Workspace(models_dir=MODELS))
    dialog = ModelsDialog(ModelCatalog(models=tuple(models), crashed=frozenset()), models[0].path, HearthSettings())
    assert dialog.table.rowCount() == len(models) >= 1
    name, quantization = dialog.table.item(0, 0), dialog.table.item(0, 2)
    assert name is not None and quantization is not None
    assert "(in use)" in name.text()
    assert quantization.text() == models[0].quantization
    saved = Recorder(dialog.settingsSaved)
    dialog.temperature.setValue(5.0)
    dialog.save_button.click()
    assert not saved.items and "temperature" in dialog.error.text()
    dialog.temperature.setValue(0.7)
    dialog.lora.setText("/adapters/style.gguf")
    dialog.save_button.click()
    name, generation = saved.last
    assert name == Path(models[0].path).name
    assert generation.temperature == 0.7 and generation.lora_path == "/adapters/style.gguf"


def test_keyboard_shortcuts(hearth_app: QApplication, tmp_path: Path) -> None:
    # not started: no threads
    controller = Controller(Home(tmp_path / "data", models_dir=MODELS, settings=HearthSettings()))
    window = MainWindow(controller)
    window.show()
    stops = []
    controller.engine.stop_answer = lambda: stops.append(1)  # type: ignore[method-assign]
    controller.chat.state = AnswerState.ANSWERING
    window.sidebar.search.setFocus()
    shortcut(window.sidebar.search, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert wait_until(lambda: window.chat.composer.input.hasFocus(), 5, "the question box to have focus")
    shortcut(window.chat.composer.input, Qt.Key.Key_Escape)
    assert stops == [1]
    window.show_page("library")
    shortcut(window.chat.composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.pages.currentWidget() is window.chat and window.chat.title.full_text() == "New chat"
    assert window.add_files_action.shortcut().toString() == "Ctrl+O"
    window.close()


def _conversation(window: MainWindow) -> None:
    passage = Passage(n=1, chunk_id=7, document_id=2, path="/notes/garden.md", text="Water twice a week.",
                      score=0.9, cited=True, start=0, end=19)
    question = Message(id=10, conversation_id=4, role="user", text="How often?", created_at=0.0)
    answer = Message(id=11, conversation_id=4, role="assistant", text="Twice a week [1].", created_at=0.0,
                     passages=(passage,))
    window.controller.chat.current = 4
    window.chat.view.show_messages(4, (question, answer))


def test_regenerate_and_copy(hearth_app: QApplication, tmp_path: Path) -> None:
    window = MainWindow(Controller(Home(tmp_path / "data", models_dir=MODELS, settings=HearthSettings())))
    _conversation(window)
    answer = window.chat.view.last_answer()
    assert answer is not None and answer.regenerate_button.isVisibleTo(answer)
    answer.copy_button.click()
    assert QApplication.clipboard().text() == "Twice a week [1]."
    asked: list[tuple[object, ...]] = []

    def regenerate(*args: object, **kwargs: object) -> bool:
        asked.append(args)
        return True

    window.controller.chat.regenerate = regenerate  # type: ignore[method-assign]
    answer.regenerate_button.click()
    assert asked == [("How often?",)]
    assert window.chat.view.questions() == ["How often?"]
    fresh = window.chat.view.last_answer()
    assert fresh is not answer and fresh is window.chat.view.streaming


def test_viewer_opens_files_only_when_asked(
    hearth_app: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtGui import QDesktopServices

    from desktop.ui.viewer import DocumentViewer

    opened: list[str] = []

    def open_url(url: QUrl) -> bool:
        opened.append(url.toLocalFile())
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", open_url)
    viewer = DocumentViewer()
    note = tmp_path / "notes" / "garden.md"
    note.parent.mkdir()
    note.write_text("Water twice a week.", encoding="utf-8")
    passage = Passage(n=1, chunk_id=1, document_id=1, path=str(note), text="Water", score=1.0, start=0, end=5)
    viewer.open_passage(passage)
    assert not opened
    viewer.open_button.click()
    viewer.folder_button.click()
    assert opened == [str(note), str(note.parent)]


def test_the_pyside_refcount_bug_is_neutralised(hearth_app: QApplication) -> None:
    import sys

    from desktop.ui.refcount_guard import IMMORTAL, leaking_singletons

    for singleton in leaking_singletons():
        assert sys.getrefcount(singleton) > IMMORTAL // 2


def test_library_summary_names_documents_still_being_indexed(hearth_app: QApplication) -> None:
    def document(n: int, status: DocumentStatus) -> DocumentInfo:
        return DocumentInfo(id=n, path=f"/notes/journal-{n}.md", kind="markdown", size=1, mtime=0.0,
                            content_hash=str(n), status=status, chunks=7 if status == DocumentStatus.INDEXED else 0)

    page = LibraryPage()
    statuses = [DocumentStatus.INDEXED] * 3 + [DocumentStatus.PENDING] * 2 + [DocumentStatus.FAILED]
    page.set_snapshot(LibrarySnapshot(
        documents=tuple(document(n, status) for n, status in enumerate(statuses)), roots=("/notes",), passages=23,
    ))
    assert page.summary.text() == "3 documents · 2 being indexed · 23 passages · 1 could not be read"


def test_dates_in_lists_read_the_same_on_every_platform() -> None:
    import datetime as dt

    from desktop.ui import format as fmt

    now = dt.datetime(2026, 12, 7, 12).timestamp()
    assert fmt.when(dt.datetime(2026, 3, 5, 9).timestamp(), now) == "5 Mar"
    assert fmt.when(dt.datetime(2025, 3, 5, 9).timestamp(), now) == "5 Mar 2025"


def test_status_bar_says_offline_only_when_nothing_leaves_the_machine(hearth_app: QApplication) -> None:
    bar = StatusBar()
    bar.show()
    assert bar.offline.isVisible() and bar.offline.text() == "● Offline" and not bar.remote.isVisible()
    bar.set_backends(BackendSettings(vector_server="http://10.0.0.5:8000", model_server="https://gpu-box/v1"))
    assert not bar.offline.isVisible() and bar.remote.isVisible()
    assert bar.remote.text() == "● Remote vectors: 10.0.0.5:8000 · Remote model: gpu-box"
    assert "http://10.0.0.5:8000" in bar.remote.toolTip() and "https://gpu-box/v1" in bar.remote.toolTip()
    bar.set_backends(BackendSettings(model_server="http://gpu-box:8080/v1"))
    assert bar.remote.text() == "● Remote model: gpu-box"
    for pill in (bar.offline, bar.remote):
        pill.ensurePolished()
    role = QPalette.ColorRole.WindowText
    assert bar.remote.palette().color(role) != bar.offline.palette().color(role)  # a distinct colour
    bar.close()


def test_the_window_names_the_servers_its_settings_use(hearth_app: QApplication, hearth_home: Path) -> None:
    closed = "http://127.0.0.1:9"  # nothing listens: the window must open and say where it would connect
    write_settings(hearth_home, {"backends": {"vector_server": closed, "model_server": closed + "/v1"}})
    window = open_test_window(hearth_home, preload=False)
    try:
        window.show()
        assert window.status.remote.isVisible() and not window.status.offline.isVisible()
        assert window.status.remote.text() == "● Remote vectors: 127.0.0.1:9 · Remote model: 127.0.0.1"
    finally:
        window.close()


def test_a_source_held_by_several_files_names_them(hearth_app: QApplication) -> None:
    hit = SearchHit(chunk_id=7, document_id=3, path="/docs/git-clean.html", score=1.0, text="-f, --force: remove.",
                    start=0, end=20, retrievers=("vector",), also_in=("/docs/git-clean.txt", "/docs/old/git-clean.txt"))
    copied, alone = to_passages([hit, hit.model_copy(update={"chunk_id": 8, "also_in": ()})])
    assert copied.also_in == hit.also_in  # the chat keeps what search collapsed
    panel = SourcesPanel()
    panel.show_passages((copied, alone))
    first, second = panel.cards()
    assert "also in git-clean.txt and 1 more" in first.meta.text()
    assert "Also in /docs/old/git-clean.txt" in first.toolTip()
    assert "also in" not in second.meta.text()
    panel.show_passages((copied.model_copy(update={"cited": True}), alone))  # the finished answer
    assert first.meta.text().endswith("also in git-clean.txt and 1 more · cited")


def test_the_style_follows_a_palette_switched_while_the_app_runs(hearth_app: QApplication) -> None:
    from desktop.ui import appearance

    light = QPalette(hearth_app.palette())
    assert not appearance.colors().dark
    dark = QPalette(light)
    for role, colour in ((QPalette.ColorRole.Window, "#202124"), (QPalette.ColorRole.WindowText, "#e8eaed"),
                         (QPalette.ColorRole.Base, "#181818"), (QPalette.ColorRole.Text, "#e8eaed")):
        dark.setColor(role, colour)
    try:
        hearth_app.setPalette(dark)
        wait_until(lambda: appearance.colors().dark, 5, "the dark colours")
        assert appearance.colors().window.name() in hearth_app.styleSheet()
    finally:
        hearth_app.setPalette(light)
        wait_until(lambda: not appearance.colors().dark, 5, "the light colours again")
