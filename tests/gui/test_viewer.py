"""Citations open the cited document inside Hearth: PDFs at the page, text with the passage marked."""

from __future__ import annotations

from pathlib import Path

from desktop.core.types import Citation, MessageStatus, Passage
from desktop.services.answering import to_passages
from desktop.services.conversations import ConversationStore
from desktop.services.indexing import Indexer
from desktop.services.retrieval import Retriever
from desktop.services.workspace import Workspace
from desktop.ui.message_widget import AnswerMessage
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import click_link, wait_until

ANSWER = "Saturn's rings are mostly water ice [1]. Water tomatoes deeply twice a week [2]."


def _cited_conversation(workspace: Workspace, corpus: Path) -> tuple[int, list[Passage]]:
    """An indexed corpus and a saved answer citing a PDF page [1] and a Markdown section [2]."""
    Indexer(workspace).index([corpus])
    retriever = Retriever(workspace)
    pdf = next(h for h in retriever.search("What are Saturn's rings made of?", 5) if h.path.endswith(".pdf"))
    markdown = next(h for h in retriever.search("tomatoes watering sun", 5) if h.path.endswith("garden.md"))
    passages = [p.model_copy(update={"cited": True}) for p in to_passages([pdf, markdown])]
    store = ConversationStore(workspace.data_dir / "conversations.sqlite3")
    conversation = store.create()
    store.add_user_message(conversation.id, "Tell me about Saturn and tomatoes")
    answer = store.start_answer(conversation.id, "test")
    store.finish_answer(
        answer, text=ANSWER, status=MessageStatus.COMPLETE, passages=passages,
        citations=[Citation(n=p.n, path=p.path, page=p.page, heading=p.heading) for p in passages],
    )
    store.close()
    return conversation.id, passages


def test_citations_open_the_pdf_page_and_highlight_the_passage(
    open_gui: OpenWindow, workspace: Workspace, corpus: Path
) -> None:
    conversation_id, passages = _cited_conversation(workspace, corpus)
    pdf_passage, markdown_passage = passages
    assert pdf_passage.page == 2
    window = open_gui(workspace.data_dir)
    wait_until(lambda: window.sidebar.titles(), 30, "the conversation list")
    window.open_conversation(conversation_id)
    answer = wait_until(lambda: window.chat.view.last_answer(), 30, "the answer to be shown")
    assert isinstance(answer, AnswerMessage) and answer.text() == ANSWER
    assert [card.passage.n for card in window.sources.cards()] == [1, 2]

    click_link(answer.body, "cite:1")
    viewer = window.viewer
    assert window.side.currentWidget() is viewer and viewer.stack.currentWidget() is viewer.pdf
    wait_until(lambda: viewer.pdf.current_page == 1, 10, "the PDF to be at page 2")
    assert viewer.title.text() == "astronomy.pdf" and "page 2" in viewer.where.text()

    click_link(answer.body, "cite:2")
    wait_until(lambda: viewer.stack.currentWidget() is viewer.text, 30, "the Markdown text to be shown")
    assert viewer.title.text() == "garden.md"
    highlighted = viewer.text.highlighted_text()
    assert highlighted.strip() == markdown_passage.text.strip()
    assert "Tomatoes need full sun" in highlighted
    rect = viewer.text.cursorRect()
    assert viewer.text.viewport().rect().contains(rect.center())  # scrolled to the passage

    # The sources panel opens passages the same way, and "back" returns to it.
    viewer.backRequested.emit()
    assert window.side.currentWidget() is window.sources
    window.sources.cards()[0].clicked.emit(pdf_passage)
    assert viewer.stack.currentWidget() is viewer.pdf


def test_a_vanished_document_is_reported_in_the_viewer(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    gone = Passage(n=1, chunk_id=1, document_id=1, path=str(tmp_path / "gone.md"), text="x", score=1.0,
                   start=0, end=1)
    window.open_passage(gone)
    viewer = window.viewer
    wait_until(lambda: viewer.stack.currentWidget() is viewer.error, 30, "the error to be shown")
    assert "no longer" in viewer.error.text()
    assert not window.banner.isVisible()  # shown where the user is looking, not as a banner
