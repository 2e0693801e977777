"""Problems shown at the top of the window without blocking anything; dismissed with a click."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QWidget

from desktop.ui import appearance
from desktop.ui.icons import icon
from desktop.ui.widgets import ToolButton, label
from desktop.workers.events import Problem

TITLES = {
    "model": "Model", "chat": "Chat", "indexing": "Indexing", "library": "Library", "viewer": "Viewer",
    "settings": "Settings", "watcher": "Folder watching", "export": "Export",
}


class ProblemBanner(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(12, 8, 12, 0)
        frame = QFrame()
        frame.setObjectName("Banner")
        outer.addWidget(frame)
        layout = QHBoxLayout(frame)
        layout.setContentsMargins(12, 8, 6, 8)
        layout.setSpacing(10)
        self.icon = label()
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        self.text = label("", wrap=True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text, 1)
        self.more = label("", "Muted")
        layout.addWidget(self.more, 0, Qt.AlignmentFlag.AlignTop)
        close = ToolButton("close", tooltip="Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.problems: list[Problem] = []
        self.hide()

    def add(self, problem: Problem) -> None:
        if self.problems and self.problems[-1] == problem:
            return  # the same thing again: do not pile it up
        self.problems.append(problem)
        self._show_latest()

    def dismiss(self) -> None:
        if self.problems:
            self.problems.pop()
        self._show_latest()

    def _show_latest(self) -> None:
        if not self.problems:
            self.hide()
            return
        latest = self.problems[-1]
        self.icon.setPixmap(icon("warning", appearance.colors().danger, 18).pixmap(18, 18))
        self.text.setText(f"{TITLES.get(latest.source, latest.source.title())}: {latest.message}")
        earlier = len(self.problems) - 1
        self.more.setText(f"+{earlier} earlier" if earlier else "")
        self.show()
