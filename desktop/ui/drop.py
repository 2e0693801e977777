"""Files dropped from the file manager: which paths they are, and the overlay shown while dragging."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from desktop.ui import appearance
from desktop.ui.theme import mix


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders in a drop; web links and other data are ignored."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


def is_model(path: Path) -> bool:
    return path.suffix.lower() == ".gguf" and path.is_file()


class DropOverlay(QWidget):
    """Covers the window while files are dragged over it, saying what a drop will do."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("DropOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.message = ""
        self.hide()

    def show_for(self, paths: list[Path]) -> None:
        models = sum(1 for p in paths if is_model(p))
        if models and models == len(paths):
            self.message = "Drop to add this model" if models == 1 else f"Drop to add these {models} models"
        else:
            self.message = "Drop to add to your library"
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        colors = appearance.colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        veil = QColor(colors.base)
        veil.setAlphaF(0.88)
        painter.fillRect(self.rect(), veil)
        frame = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        painter.setPen(QPen(colors.accent, 2.5, Qt.PenStyle.DashLine))
        painter.setBrush(mix(colors.base, colors.accent, 0.06))
        painter.drawRoundedRect(frame, 22, 22)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(colors.text)
        painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, self.message)
