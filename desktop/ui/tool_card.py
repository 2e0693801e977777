"""One step of the assistant's work, shown above its answer: the tool, its arguments in full, and
then what it returned; a writing tool waits here for Approve, Allow for this chat, or Reject.

Arguments and results are the model's and the files' words: they are shown as plain text only.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop.core.types import Approval, ToolCallRecord
from desktop.ui.widgets import label
from desktop.workers.typed import carrying

MAX_TEXT_HEIGHT = 160  # pixels; longer arguments or results scroll inside the card


def _text_box(text: str, name: str) -> QPlainTextEdit:
    box = QPlainTextEdit(text)
    box.setObjectName(name)
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    box.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    lines = min(text.count("\n") + 2, 8)
    box.setMaximumHeight(min(MAX_TEXT_HEIGHT, lines * box.fontMetrics().lineSpacing() + 12))
    return box


class ToolCard(QFrame):
    decided = carrying(Approval)

    def __init__(
        self, step: int, tool: str, arguments: dict[str, Any], *, writes: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ToolCard")
        self.step = step
        self.tool = tool
        self._layout = layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        self.title = label(f"Step {step} · {tool}" + (" (writes)" if writes else ""), "ToolTitle")
        layout.addWidget(self.title)
        self.arguments = _text_box(json.dumps(arguments, ensure_ascii=False, indent=2), "ToolArguments")
        layout.addWidget(self.arguments)
        self.status = label("Running…" if not writes else "", "Faint", wrap=True)
        layout.addWidget(self.status)
        self.result: QPlainTextEdit | None = None

        self.buttons = QWidget()
        row = QHBoxLayout(self.buttons)
        row.setContentsMargins(0, 0, 0, 0)
        self.approve = QPushButton("Approve")
        self.allow_chat = QPushButton("Allow for this chat")
        self.reject = QPushButton("Reject")
        for button, decision in ((self.approve, Approval.USER), (self.allow_chat, Approval.USER_FOR_CHAT),
                                 (self.reject, Approval.REJECTED)):
            button.clicked.connect(lambda _=False, d=decision: self._decide(d))
            row.addWidget(button)
        row.addStretch(1)
        self.buttons.hide()
        layout.addWidget(self.buttons)

    def ask_approval(self) -> None:
        self.status.setText("This tool writes to your disk: allow it?")
        self.buttons.show()

    def finish(self, record: ToolCallRecord) -> None:
        self.buttons.hide()
        verdict = "done" if record.ok else "failed"
        self.status.setText(f"{verdict} · {record.approval.value}")
        if self.result is None:
            self.result = _text_box(record.result, "ToolResult")
            self._layout.addWidget(self.result)
        else:
            self.result.setPlainText(record.result)

    @classmethod
    def saved(cls, record: ToolCallRecord) -> ToolCard:
        card = cls(record.step, record.tool, record.arguments)
        card.finish(record)
        return card

    def _decide(self, decision: Approval) -> None:
        self.buttons.hide()
        self.status.setText("Running…" if decision.allows else "Rejected")
        self.decided.emit(decision)
