"""The conversation: a scrolling column of messages, an empty state, and the streaming answer.

Only the answer being written is re-rendered while it streams; the rest of the view is untouched.
The view sticks to the bottom while the user is there, and stays put if they scrolled up to read.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from desktop.core.types import Approval, Message, Passage
from desktop.services.agent import PendingCall, ToolCallFinished, ToolCallStarted
from desktop.services.answering import AnswerFinished, AnswerStarted, AnswerToken
from desktop.ui.icons import app_pixmap
from desktop.ui.message_widget import AnswerMessage, UserMessage
from desktop.ui.tool_card import ToolCard
from desktop.ui.widgets import PushButton, label
from desktop.workers.events import FeedbackRequest
from desktop.workers.typed import carrying

COLUMN_WIDTH = 800



@dataclass(frozen=True)
class CitationClick:
    passage: Passage
    passages: tuple[Passage, ...]  # all the answer's, for the sources panel

class EmptyState(QWidget):
    """What a new chat shows: what Hearth is, and how to give it files."""

    addFilesRequested = Signal()
    addFolderRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(3)
        logo = label()
        logo.setPixmap(app_pixmap(72))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(logo)
        layout.addSpacing(14)
        title = label("What would you like to know?", "EmptyTitle", wrap=True)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        layout.addSpacing(6)
        self.text = label("", "EmptyText", wrap=True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.text)
        layout.addSpacing(18)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.add_files = PushButton("Add files…", "file")
        self.add_folder = PushButton("Add folder…", "folder")
        self.add_files.clicked.connect(self.addFilesRequested)
        self.add_folder.clicked.connect(self.addFolderRequested)
        buttons.addWidget(self.add_files)
        buttons.addWidget(self.add_folder)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addSpacing(10)
        self.hint = label("", "Faint", wrap=True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.hint)
        layout.addStretch(4)
        self.set_library_size(0)

    def set_library_size(self, documents: int) -> None:
        if documents:
            noun = "document" if documents == 1 else "documents"
            self.text.setText(
                f"Ask a question and Hearth answers from your {documents:,} {noun}, citing where it found "
                "each point. Everything stays on this computer."
            )
            self.hint.setText("Drop more files or folders anywhere on this window to add them.")
        else:
            self.text.setText(
                "Hearth answers from your own files, on this computer. Nothing you ask or add ever leaves it."
            )
            self.hint.setText("Or drop files and folders anywhere on this window: PDF, Word, Markdown, text, "
                              "web pages, ebooks and code.")
        self.add_files.setVisible(not documents)
        self.add_folder.setVisible(not documents)


class ChatView(QScrollArea):
    citationClicked = carrying(CitationClick)
    sourcesRequested = carrying(AnswerMessage)
    regenerateRequested = carrying(AnswerMessage)
    feedbackGiven = carrying(FeedbackRequest)
    toolDecided = carrying(Approval)  # Approve / Allow for this chat / Reject on a step card
    linkClicked = Signal(QUrl)
    copied = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatScroll")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(False)
        canvas = QWidget()
        canvas.setObjectName("ChatColumn")
        centre = QHBoxLayout(canvas)
        centre.setContentsMargins(24, 12, 24, 12)
        centre.addStretch(1)
        self._column = QWidget()
        self._column.setMaximumWidth(COLUMN_WIDTH)
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._messages = QVBoxLayout(self._column)
        self._messages.setContentsMargins(0, 0, 0, 0)
        self._messages.setSpacing(6)
        self._messages.addStretch(1)
        centre.addWidget(self._column, 100)
        centre.addStretch(1)
        self.setWidget(canvas)
        self._column.installEventFilter(self)

        self.empty = EmptyState()
        self._messages.insertWidget(0, self.empty)
        self.conversation_id: int | None = None
        self.streaming: AnswerMessage | None = None
        self._stick_to_bottom = True
        self.verticalScrollBar().rangeChanged.connect(self._on_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    # -- content --------------------------------------------------------------------------------
    def clear(self, conversation_id: int | None = None) -> None:
        self.conversation_id = conversation_id
        self.streaming = None
        for widget in self._message_widgets():
            self._messages.removeWidget(widget)
            widget.deleteLater()
        self.empty.show()

    def show_messages(self, conversation_id: int, messages: tuple[Message, ...]) -> None:
        self.clear(conversation_id)
        for message in messages:
            if message.role == "user":
                self._add(UserMessage(message.text, message.id))
            else:
                self._add(self._answer(AnswerMessage(message)))
        self._update_regenerate()
        self._stick_to_bottom = True

    def ask(self, question: str) -> AnswerMessage:
        """Show the question and an answer waiting to be written."""
        self._add(UserMessage(question))
        answer = self._answer(AnswerMessage())
        self._add(answer)
        self.streaming = answer
        self._update_regenerate()
        self._stick_to_bottom = True
        return answer

    def answers(self) -> list[AnswerMessage]:
        return [w for w in self._message_widgets() if isinstance(w, AnswerMessage)]

    def questions(self) -> list[str]:
        return [w.text for w in self._message_widgets() if isinstance(w, UserMessage)]

    def last_answer(self) -> AnswerMessage | None:
        answers = self.answers()
        return answers[-1] if answers else None

    def question_for(self, answer: AnswerMessage) -> UserMessage | None:
        widgets = self._message_widgets()
        index = widgets.index(answer)
        before = widgets[index - 1] if index > 0 else None
        return before if isinstance(before, UserMessage) else None

    def remove(self, *widgets: QWidget) -> None:
        for widget in widgets:
            self._messages.removeWidget(widget)
            widget.deleteLater()
        self.empty.setVisible(not self._message_widgets())

    # -- the streaming answer ----------------------------------------------------------------------
    def on_began(self, began: AnswerStarted) -> None:
        self.conversation_id = began.conversation_id
        if self.streaming is not None:
            self.streaming.begin(began.answer_id, began.passages)
            question = self.question_for(self.streaming)
            if question is not None:
                question.message_id = began.question_id

    def resume_streaming(self, answer: AnswerMessage) -> None:
        """The conversation was reopened while its answer is still being written: keep writing it."""
        answer.resume()
        self.streaming = answer
        self._update_regenerate()

    def on_piece(self, piece: AnswerToken) -> None:
        if self.streaming is not None and self.streaming.answer_id == piece.answer_id:
            self.streaming.append(piece.text)

    def on_done(self, done: AnswerFinished) -> AnswerMessage | None:
        answer = self.streaming
        if answer is None or done.message.conversation_id != self.conversation_id:
            return None
        answer.finish(done.message)
        self.streaming = None
        self._update_regenerate()
        return answer

    def on_tool_started(self, started: ToolCallStarted) -> None:
        if self.streaming is not None and self.streaming.answer_id == started.answer_id:
            self.streaming.add_step(ToolCard(started.step, started.tool, started.arguments, writes=started.writes))

    def on_approval_needed(self, pending: PendingCall) -> None:
        card = self.streaming.step_card(pending.step) if self.streaming is not None else None
        if card is None or self.streaming is None or self.streaming.answer_id != pending.answer_id:
            self.toolDecided.emit(Approval.REJECTED)  # nothing on screen to approve it with
            return
        card.decided.connect(self.toolDecided)
        card.ask_approval()

    def on_tool_finished(self, finished: ToolCallFinished) -> None:
        if self.streaming is not None and self.streaming.answer_id == finished.answer_id:
            card = self.streaming.step_card(finished.record.step)
            if card is not None:
                card.finish(finished.record)

    def on_failed(self, reason: str) -> None:
        if self.streaming is not None:
            self.streaming.fail(reason)
            self.streaming = None
        self._update_regenerate()

    # -- internals ------------------------------------------------------------------------------
    def _answer(self, answer: AnswerMessage) -> AnswerMessage:
        answer.citationClicked.connect(
            lambda passage, a=answer: self.citationClicked.emit(CitationClick(passage, a.passages))
        )
        answer.sourcesRequested.connect(self.sourcesRequested)
        answer.regenerateRequested.connect(self.regenerateRequested)
        answer.feedbackGiven.connect(self.feedbackGiven)
        answer.linkClicked.connect(self.linkClicked)
        answer.copied.connect(self.copied)
        return answer

    def _add(self, widget: QWidget) -> None:
        self.empty.hide()
        self._messages.insertWidget(self._messages.count() - 1, widget)
        if isinstance(widget, UserMessage):
            widget.fit_width(self._column.width())

    def _message_widgets(self) -> list[QWidget]:
        found: list[QWidget] = []
        for index in range(self._messages.count()):
            item = self._messages.itemAt(index)
            widget = item.widget() if item is not None else None
            if isinstance(widget, UserMessage | AnswerMessage):
                found.append(widget)
        return found

    def _update_regenerate(self) -> None:
        answers = self.answers()
        for answer in answers:
            answer.set_regenerate_visible(answer is answers[-1] and answer is not self.streaming)

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(maximum)

    def _on_scrolled(self, value: int) -> None:
        self._stick_to_bottom = value >= self.verticalScrollBar().maximum() - 24

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._column and event.type() == QEvent.Type.Resize:
            for widget in self._message_widgets():
                if isinstance(widget, UserMessage):
                    widget.fit_width(self._column.width())
        return False
