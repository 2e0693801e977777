"""Whole-document work from the window: the library's and the viewer's document menu run the task in
the engine thread, with progress in the status bar, and the result arrives in the chat as an answer
that cites its pages and is saved with the conversation.

Real window, index, embedder and model host; the model's words are scripted (tests/scripted_host.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QAction

from desktop.core.document_task import TaskProgress
from desktop.core.types import Passage
from desktop.llm import host as host_module
from desktop.services.conversations import ConversationStore
from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace
from desktop.ui.message_widget import AnswerMessage
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import wait_until
from tests.samples import write_pdf
from tests.scripted_host import scripted_host
from tests.test_document_tasks import CONTRACT, cite_first


def _actions(menu: object) -> dict[str, QAction]:
    found: dict[str, QAction] = {}
    for action in menu.actions():  # type: ignore[attr-defined]
        if action.menu() is not None:
            found |= _actions(action.menu())
        elif action.text():
            found[action.text()] = action
    return found


def test_the_library_menu_summarises_a_document_into_the_chat(
    open_gui: OpenWindow, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = tmp_path / "docs" / "lease.pdf"
    lease.parent.mkdir()
    write_pdf(lease, CONTRACT)
    write_pdf(tmp_path / "docs" / "renewal.pdf", ["The renewal was signed on 1 April 2025."])
    Indexer(workspace).index([lease.parent])
    monkeypatch.setattr(host_module, "ModelHost", scripted_host(cite_first))
    window = open_gui(workspace.data_dir)
    library = window.library
    wait_until(lambda: len(library.document_names()) == 2, 30, "the library listing")
    library.expand_all()

    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    library.tree.selectionModel().select(library.model.index_of(str(lease)), flags)
    assert set(_actions(library.document_menu())) == {"Summarise", "Dates", "Amounts", "People", "Deadlines"}
    library.tree.selectionModel().select(library.model.index_of(str(tmp_path / "docs" / "renewal.pdf")), flags)
    assert set(_actions(library.document_menu())) == {"Compare these two"}
    library.tree.selectionModel().clearSelection()
    library.tree.selectionModel().select(library.model.index_of(str(lease)), flags)

    progress: list[TaskProgress] = []
    window.controller.chat.progress.connect(progress.append)
    _actions(library.document_menu())["Summarise"].trigger()
    assert window.pages.currentWidget() is window.chat
    answer = wait_until(
        lambda: (a := window.chat.view.last_answer()) is not None and a.message is not None and a, 120, "the summary"
    )
    assert isinstance(answer, AnswerMessage) and answer.message is not None
    message = answer.message
    assert message.text.startswith("**Summary of lease.pdf**")
    assert [(c.path, c.page) for c in message.citations] == [(str(lease), 1)]
    assert progress and progress[0].step == "Reading the document"
    assert not window.controller.chat.streaming

    # Saved with the conversation, question and answer.
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    try:
        saved = store.messages(message.conversation_id)
    finally:
        store.close()
    assert [m.text for m in saved] == ["Summarise lease.pdf", message.text]

    # The viewer offers the same actions for the document it shows.
    window.viewer.open_passage(Passage(n=1, chunk_id=0, document_id=0, path=str(lease), page=1, text="", score=0))
    assert "Summarise" in _actions(window.viewer.document_menu())
