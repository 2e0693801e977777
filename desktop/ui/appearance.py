"""Keeps the style sheet in step with the system's light or dark palette while the app runs."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from desktop.ui.theme import Colors, stylesheet

_installed: Appearance | None = None


class Appearance(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        self.colors = Colors.from_palette(app.palette())
        app.styleHints().colorSchemeChanged.connect(self._refresh)
        # A signal, not an application-wide event filter: such a filter runs Python for every event of
        # every widget, and each waits for the global lock while a worker holds it.
        app.paletteChanged.connect(lambda _palette: QTimer.singleShot(0, self._refresh))  # once Qt is done
        app.setStyleSheet(stylesheet(self.colors))

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
