"""The question box: Enter sends, Shift+Enter breaks the line; the send button turns into Stop."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop.ui.icons import icon
from desktop.ui.widgets import tint_color

MAX_LINES = 8


class ComposerInput(QPlainTextEdit):
    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComposerInput")
        self.setPlaceholderText("Ask about your files…   (Shift+Enter for a new line)")
        self.setTabChangesFocus(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.document().setDocumentMargin(2)
        self.document().contentsChanged.connect(self._grow)
        self._grow()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        if enter:  # Shift+Enter: a plain line break, not a paragraph separator
            self.insertPlainText("\n")
            return
        super().keyPressEvent(event)

    # Files dropped here go to the window (to be indexed), not into the question as text.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.ignore()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if event.mimeData().hasUrls():
            event.ignore()
        else:
            super().dropEvent(event)

    def _grow(self) -> None:
        line = QFontMetrics(self.font()).lineSpacing()
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        self.setFixedHeight(lines * line + 2 * int(self.document().documentMargin()) + 8)


class Composer(QFrame):
    submitted = Signal(str)
    stopRequested = Signal()
    scopeClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        self._streaming = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 8)
        layout.setSpacing(4)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.input = ComposerInput()
        self.input.submitted.connect(self._send)
        self.input.installEventFilter(self)
        row.addWidget(self.input, 1)
        self.button = QPushButton()
        self.button.setObjectName("SendButton")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.setIconSize(QSize(18, 18))
        self.button.clicked.connect(self._button_clicked)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(row)

        footer = QHBoxLayout()
        footer.setSpacing(6)
        self.use_files = QPushButton("Use my files")
        self.use_files.setObjectName("Chip")
        self.use_files.setCheckable(True)
        self.use_files.setChecked(True)
        self.use_files.setCursor(Qt.CursorShape.PointingHandCursor)
        self.use_files.setToolTip("Answer from your library, with citations. Off: a plain chat with the model.")
        self.scope = QPushButton("All documents")
        self.scope.setObjectName("Chip")
        self.scope.setCursor(Qt.CursorShape.PointingHandCursor)
        self.scope.setToolTip("Which documents answers may use; choose them in the library")
        self.scope.clicked.connect(self.scopeClicked)
        self.use_files.toggled.connect(self.scope.setEnabled)
        self.agent = QPushButton("Agent")
        self.agent.setObjectName("Chip")
        self.agent.setCheckable(True)
        self.agent.setCursor(Qt.CursorShape.PointingHandCursor)
        self.agent.setToolTip("Let the assistant use tools first: search, read, calculate, dates, notes. "
                              "Each step is shown; writing a note asks you first.")
        self.use_files.toggled.connect(self._files_toggled)  # the assistant's tools read the files
        footer.addWidget(self.use_files)
        footer.addWidget(self.scope)
        footer.addWidget(self.agent)
        footer.addStretch(1)
        layout.addLayout(footer)
        self._update_button()

    @property
    def rag(self) -> bool:
        return self.use_files.isChecked()

    @property
    def agent_mode(self) -> bool:
        return self.agent.isChecked()

    def _files_toggled(self, on: bool) -> None:
        if not on:
            self.agent.setChecked(False)
        self.agent.setEnabled(on)

    def set_streaming(self, streaming: bool) -> None:
        self._streaming = streaming
        self._update_button()

    def set_scope(self, text: str) -> None:
        self.scope.setText(text)

    def focus_input(self) -> None:
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.input and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.setProperty("focused", event.type() == QEvent.Type.FocusIn)
            self.style().unpolish(self)
            self.style().polish(self)
        elif watched is self.input and event.type() == QEvent.Type.StyleChange:
            self._update_button()
        return False

    def _button_clicked(self) -> None:
        if self._streaming:
            self.stopRequested.emit()
        else:
            self._send()

    def _send(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self._streaming:
            return
        self.input.clear()
        self.submitted.emit(text)

    def _update_button(self) -> None:
        name = "stop" if self._streaming else "send"
        self.button.setIcon(icon(name, tint_color("on_accent"), 18))
        self.button.setToolTip("Stop (Esc)" if self._streaming else "Send (Enter)")
