"""Small building blocks shared by the panels: tinted icon buttons, labels with roles, separators.

Text in labels, tooltips and message boxes is plain text: Qt renders anything that looks like HTML
as rich text, which loads images (``<img src=...>``) from disk, and file names, headings and model
names are data Hearth did not write. Every label comes from ``label`` or ``ElidedLabel``; every
tooltip is made plain by ``PlainToolTipStyle``, the application's style.
"""

from __future__ import annotations

from typing import Any, Literal

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QMessageBox,
    QProxyStyle,
    QPushButton,
    QSizePolicy,
    QStyleFactory,
    QToolButton,
    QWidget,
)

from desktop.ui import appearance
from desktop.ui.icons import icon

Tint = Literal["muted", "text", "accent", "on_accent"]


def tint_color(tint: Tint) -> QColor:
    palette = appearance.colors()
    return {"muted": palette.muted, "text": palette.text, "accent": palette.accent, "on_accent": palette.on_accent}[
        tint
    ]


class ToolButton(QToolButton):
    """A flat button with a line icon that follows the light/dark palette."""

    def __init__(
        self,
        icon_name: str,
        text: str = "",
        *,
        tooltip: str = "",
        tint: Tint = "muted",
        size: int = 16,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._icon_name, self._tint, self._size = icon_name, tint, size
        self.setText(text)
        self.setToolTip(tooltip or text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setIconSize(QSize(size, size))
        self.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon if text else Qt.ToolButtonStyle.ToolButtonIconOnly
        )
        self._retint()

    def set_icon_name(self, icon_name: str) -> None:
        self._icon_name = icon_name
        self._retint()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:
            self._retint()

    def _retint(self) -> None:
        self.setIcon(icon(self._icon_name, tint_color(self._tint), self._size))


class PushButton(QPushButton):
    """A push button with an optional tinted icon; ``primary`` makes it the accent-coloured one."""

    def __init__(
        self,
        text: str,
        icon_name: str | None = None,
        *,
        primary: bool = False,
        tooltip: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(text, parent)
        self._icon_name = icon_name
        self._primary = primary
        if primary:
            self.setObjectName("Primary")
        if tooltip:
            self.setToolTip(tooltip)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._retint()

    def set_icon_name(self, icon_name: str | None) -> None:
        self._icon_name = icon_name
        self._retint()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:
            self._retint()

    def _retint(self) -> None:
        if self._icon_name:
            self.setIcon(icon(self._icon_name, tint_color("on_accent" if self._primary else "text"), 16))


class ElidedLabel(QLabel):
    """One line of text that ends in '…' when there is no room, with the whole text as tooltip."""

    def __init__(self, text: str = "", role: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if role:
            self.setObjectName(role)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))


class PlainToolTipStyle(QProxyStyle):
    """Fusion, with every tooltip's label turned to plain text as Qt polishes it (it is polished before
    its text is set; tests/gui/test_untrusted_text.py checks that this still holds).

    Tooltips come from widgets, item models (ToolTipRole), link titles in the chat's Markdown and
    Qt's own widgets, and all of them are shown by that one label: this covers every source, even
    ones no call site sees, where escaping each call site's text would miss some. The style sees each
    widget once, when it is polished; an application-wide event filter would see every event of every
    widget, and each would wait for Python's global lock while a worker holds it (the window's pauses
    while indexing, in benchmarks/bench_gui.py).
    """

    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))  # looks the same everywhere, light or dark

    def polish(self, target: Any) -> Any:  # a widget, the application or a palette
        if isinstance(target, QLabel) and target.windowType() == Qt.WindowType.ToolTip:
            target.setTextFormat(Qt.TextFormat.PlainText)
        return super().polish(target)


def label(text: str = "", role: str | None = None, *, wrap: bool = False, parent: QWidget | None = None) -> QLabel:
    """A plain-text label whose look comes from the style sheet's ``role`` (object name)."""
    widget = QLabel(parent)
    widget.setTextFormat(Qt.TextFormat.PlainText)  # before the text: it is never parsed as HTML
    widget.setText(text)
    if role:
        widget.setObjectName(role)
    widget.setWordWrap(wrap)
    return widget


def confirm(parent: QWidget, title: str, text: str, action: str) -> bool:
    """Ask before something that cannot be undone; the safe choice is the default."""
    box = QMessageBox(QMessageBox.Icon.Question, title, "", QMessageBox.StandardButton.Cancel, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the text names files and conversations
    box.setText(text)
    go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    chosen = box.clickedButton() is go
    box.setParent(None)  # parented to a long-lived window, it would outlive the question: now it goes with us
    return chosen
