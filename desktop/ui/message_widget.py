"""One message in the chat: the user's question in a bubble, or Hearth's answer with its actions.

A streaming answer collects tokens as they arrive and re-renders its Markdown on a timer (about
20 times a second), so a fast model never makes the GUI re-layout once per token. A finished
answer shows which sentences no passage supports (a faint dotted line, with a tooltip) and, when
none is supported, the passages' best sentences under it.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from desktop.core.types import Feedback, Message, MessageStatus, Passage
from desktop.services.attribution import excerpts_markdown
from desktop.ui import format as fmt
from desktop.ui.icons import app_pixmap
from desktop.ui.markdown_view import UNSUPPORTED_SCHEME, MarkdownView
from desktop.ui.tool_card import ToolCard
from desktop.ui.widgets import ToolButton, label
from desktop.workers.events import FeedbackRequest
from desktop.workers.typed import carrying

RENDER_INTERVAL_MS = 50  # at most 20 renders a second while streaming

_STATUS_NOTES = {
    MessageStatus.STOPPED: "Stopped",
    MessageStatus.INTERRUPTED: "Interrupted: Hearth closed before the answer was complete",
    MessageStatus.FAILED: "This answer failed",
    MessageStatus.STREAMING: "Interrupted",
}


UNSUPPORTED_TIP = "Not found in your files: no passage given to the model supports this sentence."
_BLOCK_START = re.compile(r"(?:\s*(?:[-*+]|\d{1,9}[.)]|#{1,6}|>)\s+)*")  # list, heading or quote marks


def shown_markdown(message: Message) -> str:
    """The answer as shown: each sentence no passage supports marked (``text`` itself is kept as
    written, for Copy), and the passages' best sentences under an answer mostly unsupported."""
    text = message.text
    pieces: list[str] = []
    position = 0
    for sentence in message.sentences:
        if sentence.supported is not False or sentence.start < position:
            continue
        written = text[sentence.start : sentence.end]
        lead = _BLOCK_START.match(written)
        cut = lead.end() if lead else 0
        pieces += [text[position : sentence.start], written[:cut], _marked(written[cut:])]
        position = sentence.end
    pieces.append(text[position:])
    shown = "".join(pieces)
    return f"{shown}\n\n{excerpts_markdown(message.excerpts)}" if message.excerpts else shown


def _marked(sentence: str) -> str:
    """The sentence as a mark with a tooltip; a small mark after it where brackets would break the link."""
    link = f'({UNSUPPORTED_SCHEME}: "{UNSUPPORTED_TIP}")'
    if not sentence.strip() or re.search(r"[\[\]\n<\\]", sentence):
        return f"{sentence} [?]{link}"
    return f"[{sentence}]{link}"


class UserMessage(QWidget):
    """The question, right-aligned in a tinted bubble."""

    def __init__(self, text: str, message_id: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_id = message_id
        self.text = text
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 6, 0, 6)
        row.addStretch(1)
        self.bubble = QFrame()
        self.bubble.setObjectName("UserBubble")
        inner = QVBoxLayout(self.bubble)
        inner.setContentsMargins(14, 9, 14, 9)
        body = label(text, "QuestionText", wrap=True)
        body.setTextInteractionFlags(body.textInteractionFlags().TextSelectableByMouse)
        inner.addWidget(body)
        row.addWidget(self.bubble, 0)
        self.body = body

    def fit_width(self, column_width: int) -> None:
        """As wide as the text needs, up to about three quarters of the column."""
        widest = max(240, int(column_width * 0.78))
        longest = max((self.body.fontMetrics().horizontalAdvance(line) for line in self.text.splitlines()), default=0)
        self.bubble.setMaximumWidth(widest)
        self.bubble.setMinimumWidth(min(widest, longest + 30))


class AnswerMessage(QWidget):
    """Hearth's answer: Markdown with clickable citations, its status, and Copy / Regenerate / Sources."""

    citationClicked = carrying(Passage)
    sourcesRequested = carrying("AnswerMessage")
    regenerateRequested = carrying("AnswerMessage")
    feedbackGiven = carrying(FeedbackRequest)
    linkClicked = Signal(QUrl)
    copied = Signal()

    def __init__(self, message: Message | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.answer_id: int | None = message.id if message else None
        self.passages: tuple[Passage, ...] = message.passages if message else ()
        self._text = message.text if message else ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._render)
        self.renders = 0  # how often the Markdown was re-rendered (tests check the throttle)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 8, 0, 8)
        outer.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(8)
        avatar = label()
        avatar.setPixmap(app_pixmap(22))
        avatar.setFixedSize(22, 22)
        header.addWidget(avatar)
        header.addWidget(label("Hearth", "Author"))
        self.meta = label("", "Faint")
        header.addWidget(self.meta)
        header.addStretch(1)
        outer.addLayout(header)
        self.steps = QVBoxLayout()  # the assistant's tool calls, above the answer they led to
        self.steps.setContentsMargins(30, 0, 0, 0)
        outer.addLayout(self.steps)

        self.placeholder = label("Searching your files…", "StatusNote")
        self.body = MarkdownView()
        self.body.setObjectName("AnswerText")
        self.body.citationClicked.connect(self._on_citation)
        self.body.linkClicked.connect(self.linkClicked)
        self.note = label("", "StatusNote", wrap=True)
        self.error = label("", "ErrorNote", wrap=True)
        for widget in (self.placeholder, self.body, self.note, self.error):
            widget.setContentsMargins(30, 0, 0, 0)
            outer.addWidget(widget)

        actions = QHBoxLayout()
        actions.setContentsMargins(22, 2, 0, 0)
        actions.setSpacing(2)
        self.copy_button = ToolButton("copy", "Copy", tooltip="Copy the answer as Markdown")
        self.copy_button.clicked.connect(self._copy)
        self.regenerate_button = ToolButton("regenerate", "Regenerate", tooltip="Answer this question again")
        self.regenerate_button.clicked.connect(lambda: self.regenerateRequested.emit(self))
        self.sources_button = ToolButton("sources", "Sources", tooltip="Show the passages this answer used")
        self.sources_button.clicked.connect(lambda: self.sourcesRequested.emit(self))
        self.feedback_buttons = {Feedback.UP: QToolButton(), Feedback.DOWN: QToolButton()}
        for choice, button in self.feedback_buttons.items():
            good = choice is Feedback.UP
            button.setText("Good answer" if good else "Poor answer")
            button.setToolTip(f"This answer {'helped' if good else 'did not help'} (counted in Insights)")
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.clicked.connect(lambda checked, c=choice: self._give_feedback(c if checked else None))
        for button in (self.copy_button, self.regenerate_button, self.sources_button, *self.feedback_buttons.values()):
            actions.addWidget(button)
        actions.addStretch(1)
        self.speed = label("", "Faint")
        actions.addWidget(self.speed)
        self.action_row = QWidget()
        self.action_row.setLayout(actions)
        self.action_row.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        outer.addWidget(self.action_row)

        if message is not None:
            for record in message.tool_calls:
                self.add_step(ToolCard.saved(record))
            self.finish(message)
        else:
            self.body.hide()
            self.note.hide()
            self.error.hide()
            self.action_row.hide()

    # -- streaming --------------------------------------------------------------------------------
    def begin(self, answer_id: int, passages: tuple[Passage, ...]) -> None:
        self.answer_id = answer_id
        self.passages = passages
        self.placeholder.setText("Writing…")

    def add_step(self, card: ToolCard) -> None:
        self.steps.addWidget(card)
        self.placeholder.setText("Working…")

    def step_card(self, step: int) -> ToolCard | None:
        items = (self.steps.itemAt(i) for i in range(self.steps.count()))
        cards = [item.widget() for item in items if item is not None]
        return next((c for c in cards if isinstance(c, ToolCard) and c.step == step), None)

    def resume(self) -> None:
        """Back to streaming, from the partial text saved while it streamed."""
        self.message = None
        self.note.hide()
        self.action_row.hide()
        self._render()

    def append(self, piece: str) -> None:
        self._text += piece
        if not self._timer.isActive():
            self._timer.start()

    def finish(self, message: Message) -> None:
        self._timer.stop()
        self.message = message
        self.answer_id = message.id
        self.passages = message.passages
        self._text = message.text
        self.placeholder.hide()
        self.body.show()
        self.body.set_markdown(shown_markdown(message) or "*(no answer)*")
        note = _STATUS_NOTES.get(message.status, "")
        if message.notes and message.status == MessageStatus.COMPLETE:
            note = "Note: " + "; ".join(message.notes)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.error.hide()
        cited = sum(1 for p in message.passages if p.cited)
        self.sources_button.setText(f"Sources ({len(message.passages)})" if message.passages else "Sources")
        self.sources_button.setVisible(bool(message.passages))
        self.sources_button.setToolTip(f"{fmt.count(cited, 'passage')} cited of {len(message.passages)} used")
        self.meta.setText(message.model or "")
        timings = message.timings
        if timings and timings.tokens_per_second:
            self.speed.setText(f"{timings.generated_tokens} tokens · {timings.tokens_per_second:.0f} tokens/s")
        else:
            self.speed.setText("")
        self.action_row.show()
        self._show_feedback(message.feedback)

    def fail(self, reason: str) -> None:
        self._timer.stop()
        self.placeholder.hide()
        if self._text:
            self.body.show()
            self.body.set_markdown(self._text)
        self.error.setText(reason)
        self.error.show()
        self.action_row.show()
        self.copy_button.setVisible(bool(self._text))
        self.sources_button.hide()

    def _give_feedback(self, feedback: Feedback | None) -> None:
        self._show_feedback(feedback)
        if self.message is not None:
            self.feedbackGiven.emit(FeedbackRequest(message_id=self.message.id, feedback=feedback))

    def _show_feedback(self, feedback: Feedback | None) -> None:
        for choice, button in self.feedback_buttons.items():
            button.setChecked(choice is feedback)

    def set_regenerate_visible(self, visible: bool) -> None:
        self.regenerate_button.setVisible(visible)

    def text(self) -> str:
        return self._text

    # -- internals --------------------------------------------------------------------------------
    def _render(self) -> None:
        self.renders += 1
        self.placeholder.hide()
        self.body.show()
        self.body.set_markdown(self._text)

    def _on_citation(self, number: int) -> None:
        for passage in self.passages:
            if passage.n == number:
                self.citationClicked.emit(passage)
                return

    def _copy(self) -> None:
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(self._text)
        self.copied.emit()
