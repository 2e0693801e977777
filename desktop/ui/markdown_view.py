"""A read-only Markdown view that never reaches the network and turns [n] into citation links.

Privacy and safety: links are never followed by the view itself and no resource (image, style sheet)
is ever loaded, local or remote; model output cannot make Hearth fetch anything, nor open a device or
a named pipe (``![x](/dev/zero)`` would read forever, a FIFO would block the GUI thread).
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QFont,
    QImage,
    QResizeEvent,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from desktop.ui import appearance

CITE_SCHEME = "cite"
UNSUPPORTED_SCHEME = "unsupported"  # a sentence of an answer that no passage supports: a mark, not a link
LINE_HEIGHT = 128  # percent: easier reading than Qt's tight default
_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\](?![(:])")
_CODE = re.compile(r"(^```.*?(?:^```|\Z)|`[^`\n]+`)", re.DOTALL | re.MULTILINE)
_FEATURES = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
_NO_IMAGE = QImage(1, 1, QImage.Format.Format_ARGB32)
_NO_IMAGE.fill(Qt.GlobalColor.transparent)


def linkify_citations(markdown: str) -> str:
    """'[1, 3]' becomes links cite:1 and cite:3 shown as '[1][3]'; code spans and blocks are left alone."""

    def links(match: re.Match[str]) -> str:
        numbers = re.findall(r"\d+", match.group(1))
        return "".join(f"[\\[{n}\\]]({CITE_SCHEME}:{n})" for n in numbers)

    parts = _CODE.split(markdown)
    return "".join(part if index % 2 else _CITATION.sub(links, part) for index, part in enumerate(parts))


def citation_number(url: QUrl) -> int | None:
    if url.scheme() != CITE_SCHEME:
        return None
    try:
        return int(url.path())
    except ValueError:
        return None


class MarkdownView(QTextBrowser):
    """Grows to fit its text (no scroll bars of its own), so many can stack in one scroll area."""

    citationClicked = Signal(int)
    linkClicked = Signal(QUrl)  # any other link: the window decides, the view never opens it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(self.verticalScrollBarPolicy().ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(self.horizontalScrollBarPolicy().ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAcceptDrops(False)
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; border: none; }")
        self.document().setDocumentMargin(0)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.anchorClicked.connect(self._on_anchor)
        self._markdown = ""

    def set_markdown(self, markdown: str) -> None:
        if markdown == self._markdown:
            return
        self._markdown = markdown
        document = self.document()
        document.setMarkdown(linkify_citations(markdown), _FEATURES)
        self._images_as_text()
        cursor = QTextCursor(document)
        cursor.select(QTextCursor.SelectionType.Document)
        spacing = QTextBlockFormat()
        spacing.setLineHeight(LINE_HEIGHT, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        cursor.mergeBlockFormat(spacing)
        self._colour_links()
        self._fit()

    def markdown(self) -> str:
        return self._markdown

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:
            self._colour_links()

    def _images_as_text(self) -> None:
        """Each image becomes its alt text: the reader sees what the model wrote, and nothing is loaded."""
        images = []
        block = self.document().begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                if fragment.charFormat().isImageFormat():
                    images.append((fragment.position(), fragment.length(), fragment.charFormat()))
                fragments += 1
            block = block.next()
        for position, length, image in reversed(images):
            look = QTextCharFormat(image)  # the same look, without the image
            look.setObjectType(QTextFormat.ObjectTypes.NoObject)
            cursor = QTextCursor(self.document())
            cursor.setPosition(position)
            cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
            cursor.insertText(image.stringProperty(QTextFormat.Property.ImageAltText) * length, look)

    def _colour_links(self) -> None:
        """Links in the accent colour; citations also bold and without underline, like footnote marks."""
        accent = appearance.colors().accent
        block = self.document().begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                href = fragment.charFormat().anchorHref()
                if href:
                    look = QTextCharFormat()
                    citation = href.startswith(CITE_SCHEME + ":")
                    if href.startswith(UNSUPPORTED_SCHEME + ":"):  # plain text, a faint dotted line under it
                        look.setForeground(self.palette().text())
                        look.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
                        look.setUnderlineColor(appearance.colors().muted)
                    else:
                        look.setForeground(accent)
                        look.setFontUnderline(not citation)
                    if citation:
                        look.setFontWeight(QFont.Weight.DemiBold)
                    cursor = QTextCursor(self.document())
                    cursor.setPosition(fragment.position())
                    cursor.setPosition(fragment.position() + fragment.length(), QTextCursor.MoveMode.KeepAnchor)
                    cursor.mergeCharFormat(look)
                fragments += 1
            block = block.next()

    def loadResource(self, kind: int, name: QUrl | str) -> Any:
        """An empty stand-in for every resource, so nothing is ever read: not remote images, not local files.

        Not None: QTextDocument then reads a local path itself. Not a null image either: Qt's image
        handler then loads the file by name. (Images are replaced by text once parsed; this covers the
        layout that may run before.)
        """
        if kind == QTextDocument.ResourceType.ImageResource.value:
            return _NO_IMAGE
        return QByteArray()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _height(self) -> int:
        margins = self.contentsMargins()
        return math.ceil(self.document().size().height()) + margins.top() + margins.bottom() + 2

    def _fit(self) -> None:
        self.document().setTextWidth(self.viewport().width())
        height = self._height()
        if height != self.height():
            self.setFixedHeight(height)

    def _on_anchor(self, url: QUrl) -> None:
        number = citation_number(url)
        if number is not None:
            self.citationClicked.emit(number)
        elif url.scheme() != UNSUPPORTED_SCHEME:
            self.linkClicked.emit(url)
