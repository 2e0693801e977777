"""Keeps the style sheet in step with the system's light or dark palette while the app runs."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from desktop.ui.theme import Colors, stylesheet

_installed: Appearance | None = None


class Appearance(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self.colors = Colors.from_palette(app.palette())
        app.styleHints().colorSchemeChanged.connect(self._refresh)
        app.installEventFilter(self)
        app.setStyleSheet(stylesheet(self.colors))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._app and event.type() == QEvent.Type.ApplicationPaletteChange:
            QTimer.singleShot(0, self._refresh)  # after Qt has finished switching palettes
        return False

    def _refresh(self) -> None:
        colors = Colors.from_palette(self._app.palette())
        if colors != self.colors:
            self.colors = colors
            self._app.setStyleSheet(stylesheet(colors))  # every widget gets a StyleChange event


def install(app: QApplication) -> Appearance:
    global _installed
    if _installed is None or _installed.parent() is not app:
        _installed = Appearance(app)
    return _installed


def colors() -> Colors:
    if _installed is not None:
        return _installed.colors
    return Colors.from_palette(QApplication.palette())
