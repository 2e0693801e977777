"""Cited documents opened inside Hearth: PDFs at the cited page, other files scrolled to the passage.

Nothing here touches the file: the viewer thread reads it (desktop/workers/documents.py) with the
limits and checks of indexing. PDFs are drawn by QtPdf from the bytes it read, never from the path
(the cited passage is found with a text search and highlighted, or, on a page read by OCR, its words'
boxes are marked). A picture of a page read by OCR is shown with its words' boxes marked. Other
formats show the text a parse worker extracted, with the passage ``text[start:end]`` highlighted and
centred. Names and headings are shown as plain text: they come from the files, not from Hearth.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QSizeF,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QGuiApplication,
    QImage,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtPdf import QPdfDocument, QPdfSearchModel
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMenu,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.core.document_task import DocumentTask
from desktop.core.types import Passage
from desktop.core.word_boxes import Box
from desktop.services.documents import safe_to_open
from desktop.ui import appearance
from desktop.ui import format as fmt
from desktop.ui.document_menu import document_menu
from desktop.ui.widgets import PushButton, ToolButton, label
from desktop.workers.events import DocumentPdf, DocumentPicture, DocumentRefused, DocumentShown, DocumentText
from desktop.workers.typed import carrying

SEARCH_WORDS = 6  # words of the passage searched for in the PDF to highlight it
MARK_ALPHA = 120  # OCR'd words are marked translucently: the scan stays readable under the mark
ABOVE_MARKS = 36  # pixels left above the first mark when scrolling to it


def _marks(boxes: tuple[Box, ...], page: QRectF) -> list[QRectF]:
    """Boxes (fractions of the page) placed on ``page`` as drawn."""
    return [
        QRectF(page.x() + left * page.width(), page.y() + top * page.height(),
               (right - left) * page.width(), (bottom - top) * page.height())
        for left, top, right, bottom in boxes
    ]


def _paint_marks(painter: QPainter, marks: list[QRectF]) -> None:
    colour = QColor(_stronger(appearance.colors().passage))
    colour.setAlpha(MARK_ALPHA)
    painter.setPen(Qt.PenStyle.NoPen)
    for mark in marks:
        painter.fillRect(mark.adjusted(-2, -2, 2, 2), colour)  # a little room around the ink


class MarkedPdfView(QPdfView):
    """QPdfView that also marks words on one page (their boxes as fractions of the page)."""

    def __init__(self) -> None:
        super().__init__()
        self.marked_page = 0
        self.boxes: tuple[Box, ...] = ()

    def mark(self, page: int, boxes: tuple[Box, ...]) -> None:
        self.marked_page, self.boxes = page, boxes
        self.viewport().update()

    def page_rect(self, page: int) -> QRect:
        """Where ``page`` is drawn in the whole document, as QPdfView lays it out at a custom zoom."""
        document = self.document()
        scale = _pixels_per_point() * self.zoomFactor()
        sizes = [QSizeF(document.pagePointSize(number) * scale).toSize() for number in range(document.pageCount())]
        margins = self.documentMargins()
        total = max(size.width() for size in sizes) + margins.left() + margins.right()
        top = margins.top() + sum(size.height() + self.pageSpacing() for size in sizes[:page])
        left = (max(total, self.viewport().width()) - sizes[page].width()) // 2
        return QRect(left, top, sizes[page].width(), sizes[page].height())

    def mark_rects(self) -> list[QRectF]:
        """The marks as drawn in the viewport."""
        if not self.boxes or not 0 <= self.marked_page < self.document().pageCount():
            return []
        page = QRectF(self.page_rect(self.marked_page))
        page.translate(-self.horizontalScrollBar().value(), -self.verticalScrollBar().value())
        return _marks(self.boxes, page)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if marks := self.mark_rects():
            painter = QPainter(self.viewport())
            _paint_marks(painter, marks)
            painter.end()


class PdfPane(QWidget):
    """QPdfView fitted to the width by hand: in its own FitToWidth mode it draws search highlights
    at the wrong scale and cannot scroll to a spot on a page, so the zoom is kept as Custom and the
    page layout is computed as QPdfView computes it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.document = QPdfDocument(self)
        self.view = MarkedPdfView()
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setDocument(self.document)
        self.search = QPdfSearchModel(self)
        self.search.setDocument(self.document)
        self.search.rowsInserted.connect(self._highlight)
        self.view.setSearchModel(self.search)
        # Until the person scrolls, the passage stays in view while the size settles.
        self.view.verticalScrollBar().actionTriggered.connect(self._user_scrolled)
        layout.addWidget(self.view)
        self._data: bytes | None = None  # the PDF shown
        self._buffer: QBuffer | None = None  # QtPdf reads pages from it as it draws them
        self._page = 0
        self._spot = QPointF(0, 0)  # where on the page, in points
        self._follow = False

    def show_passage(self, passage: Passage, data: bytes, boxes: tuple[Box, ...] = ()) -> str | None:
        """Show the PDF ``data`` at the passage's page; returns an error message if QtPdf cannot read it.
        ``boxes``: the passage's words on a page read by OCR, marked there (no text layer to search)."""
        if data != self._data:
            self.search.setSearchString("")
            error = self._load(data)
            if error is not None:
                return f"{fmt.file_name(passage.path)} cannot be opened ({error})."
        self._page = max(0, min((passage.page or 1) - 1, self.document.pageCount() - 1))
        self.view.mark(self._page, boxes)
        top = min((box[1] for box in boxes), default=0.0)  # the first marked word, in points, a little above it
        height = self.document.pagePointSize(self._page).height()
        self._spot = QPointF(0, max(0.0, top * height - ABOVE_MARKS / max(1e-6, self._scale())))
        self._follow = True
        self._place()
        self.search.setSearchString("" if boxes else " ".join(_focus(passage).split()[:SEARCH_WORDS]))
        return None

    def _scale(self) -> float:
        return _pixels_per_point() * self.view.zoomFactor()

    def _load(self, data: bytes) -> str | None:
        buffer = QBuffer()
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document.load(buffer)  # from memory, at once: a buffer never blocks
        self._buffer, self._data = buffer, data
        if self.document.status() != QPdfDocument.Status.Ready:
            self._data = None
            return self.document.error().name
        return None

    @property
    def current_page(self) -> int:
        """0-based page the view is at."""
        return self.view.pageNavigator().currentPage()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._place)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._place)  # after the view has its new size

    def _place(self) -> None:
        if self.document.status() != QPdfDocument.Status.Ready:
            return
        margins = self.view.documentMargins()
        widest = max(self.document.pagePointSize(page).width() for page in range(self.document.pageCount()))
        room = self.view.viewport().width() - margins.left() - margins.right()
        if widest > 0 and room > 0:
            self.view.setZoomFactor(room / (widest * _pixels_per_point()))
        if self._follow:
            self._scroll_to_spot()

    def _scroll_to_spot(self) -> None:
        self.view.pageNavigator().jump(self._page, self._spot, self.view.zoomFactor())
        top = self.view.page_rect(self._page).top() + self._spot.y() * self._scale()
        self.view.verticalScrollBar().setValue(round(top))

    def _user_scrolled(self, _action: int) -> None:
        self._follow = False

    def _highlight(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            found = self.search.resultAtIndex(row)
            if found.page() == self._page:
                self.view.setCurrentSearchResultIndex(row)
                if self._follow:
                    self._spot = QPointF(0, max(0.0, found.location().y() - 36))  # a little above it
                    self._scroll_to_spot()
                return


def _focus(passage: Passage) -> str:
    """What to find and highlight: the first sentence supporting the answer, else the passage."""
    span = passage.supports[0] if passage.supports else None
    return passage.text[span.start : span.end] if span else passage.text


def _pixels_per_point() -> float:
    screen = QGuiApplication.primaryScreen()
    return screen.logicalDotsPerInch() / 72 if screen is not None else 1.0


class _Picture(QWidget):
    """A page picture drawn to the widget's width, with its marks."""

    def __init__(self) -> None:
        super().__init__()
        self.image = QImage()
        self.boxes: tuple[Box, ...] = ()

    def mark_rects(self) -> list[QRectF]:
        return _marks(self.boxes, QRectF(self.rect()))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self.rect(), self.image)
        _paint_marks(painter, self.mark_rects())
        painter.end()


class PicturePane(QScrollArea):
    """A picture of a page read by OCR (an image file), fitted to the width, its marked words in view."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.picture = _Picture()
        self.setWidget(self.picture)
        self.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().actionTriggered.connect(self._user_scrolled)
        self._follow = False

    def show_picture(self, shown: DocumentPicture) -> None:
        picture = shown.picture
        # The worker's bytes become pixels as they are (no decoder runs here); a wrong length shows nothing.
        if len(picture.rgb) == picture.width * picture.height * 3:
            image = QImage(picture.rgb, picture.width, picture.height, picture.width * 3, QImage.Format.Format_RGB888)
            self.picture.image = image.copy()  # owns its pixels, which ``rgb`` did not lend for long
        else:
            self.picture.image = QImage()
        self.picture.boxes = shown.boxes
        self._follow = True
        self._place()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._place)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._place)

    def _place(self) -> None:
        image = self.picture.image
        width = self.viewport().width()
        height = round(width * image.height() / image.width()) if not image.isNull() else 0
        self.picture.setFixedSize(QSize(width, height))
        self.picture.update()
        if self._follow and (marks := self.picture.mark_rects()):
            self.verticalScrollBar().setValue(round(min(mark.top() for mark in marks)) - ABOVE_MARKS)

    def _user_scrolled(self, _action: int) -> None:
        self._follow = False


class TextPane(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DocumentText")
        self.setReadOnly(True)
        self.setAcceptDrops(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.document().setDocumentMargin(16)
        self._shown: tuple[str, int] | None = None

    def show_passage(self, document: DocumentText) -> None:
        passage = document.passage
        key = (passage.path, len(document.text))
        if key != self._shown:
            self.setPlainText(document.text)
            self._shown = key
        start = max(0, min(passage.start, len(document.text)))
        end = max(start, min(passage.end, len(document.text)))
        colour = appearance.colors().passage
        # The passage, and more strongly the sentences of it that support the answer.
        highlights = [self._highlight(start, end, colour)] + [
            self._highlight(start + span.start, min(start + span.end, end), _stronger(colour))
            for span in passage.supports if start + span.start < end
        ]
        self.setExtraSelections(highlights)
        if len(highlights) > 1:  # the supporting sentence is what to read
            start, end = highlights[1].cursor.selectionStart(), highlights[1].cursor.selectionEnd()
        # Put the passage's end in view first, then its start: the whole passage ends up visible.
        cursor = QTextCursor(self.document())
        cursor.setPosition(end)
        self.setTextCursor(cursor)
        self.centerCursor()
        cursor.setPosition(start)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def _highlight(self, start: int, end: int, colour: QColor) -> QTextEdit.ExtraSelection:
        highlight = QTextEdit.ExtraSelection()
        highlight.cursor = QTextCursor(self.document())
        highlight.cursor.setPosition(start)
        highlight.cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        look = QTextCharFormat()
        look.setBackground(colour)
        highlight.format = look
        return highlight

    def highlighted_text(self) -> str:
        selections = self.extraSelections()
        return selections[0].cursor.selectedText().replace("\u2029", "\n") if selections else ""

    def supporting_text(self) -> list[str]:
        """The sentences highlighted as supporting the answer."""
        return [s.cursor.selectedText().replace("\u2029", "\n") for s in self.extraSelections()[1:]]


def _stronger(colour: QColor) -> QColor:
    return colour.lighter(150) if colour.lightness() < 128 else colour.darker(118)


class DocumentViewer(QWidget):
    backRequested = Signal()
    taskRequested = carrying(DocumentTask)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setContentsMargins(8, 0, 12, 0)
        back = ToolButton("back", "Sources", tooltip="Back to the sources of this answer")
        back.clicked.connect(self.backRequested)
        top.addWidget(back)
        top.addStretch(1)
        self.open_button = PushButton(
            "Open", "external", tooltip="Open in the default application (a program or script is shown in its folder)"
        )
        self.open_button.clicked.connect(self._open_externally)
        self.folder_button = PushButton("Show in folder", "folder", tooltip="Show the file in its folder")
        self.folder_button.clicked.connect(self._show_in_folder)
        self.task_button = PushButton("Summarise…", "file", tooltip="Summarise this document or list what it holds")
        self.task_button.clicked.connect(self._task_menu)
        top.addWidget(self.task_button)
        top.addWidget(self.open_button)
        top.addWidget(self.folder_button)
        layout.addLayout(top)
        heading = QVBoxLayout()
        heading.setContentsMargins(16, 4, 16, 6)
        heading.setSpacing(2)
        self.title = label("", "PageTitle")
        self.where = label("", "Muted")
        self.note = label("", "Muted", wrap=True)  # why the Open button showed the folder instead
        self.note.hide()
        for line in (self.title, self.where, self.note):
            line.setTextFormat(Qt.TextFormat.PlainText)
            heading.addWidget(line)
        layout.addLayout(heading)

        self.stack = QStackedWidget()
        self.loading = label("Opening…", "Muted")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error = label("", "ErrorNote", wrap=True)
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.pdf = PdfPane()
        self.text = TextPane()
        self.picture = PicturePane()
        for page in (self.loading, self.error, self.pdf, self.text, self.picture):
            self.stack.addWidget(page)
        layout.addWidget(self.stack, 1)
        self.passage: Passage | None = None

    def open_passage(self, passage: Passage) -> None:
        """Name the passage and wait for its document (``show_document``), which the window asks for."""
        self.passage = passage
        self.title.setText(fmt.file_name(passage.path))
        self.title.setToolTip(passage.path)
        where = fmt.location(passage)
        number = f"[{passage.n}]" if passage.n else ""  # 0: opened by the assistant, not cited
        self.where.setText(" ".join(filter(None, (number, where))))
        self.note.hide()
        self.stack.setCurrentWidget(self.loading)

    def show_document(self, shown: DocumentShown) -> None:
        if self.passage is None or shown.passage != self.passage:
            return  # the user has since opened another passage
        if isinstance(shown, DocumentRefused):
            self.show_error(shown.message)
        elif isinstance(shown, DocumentPdf):
            self._show_pdf(shown)
        elif isinstance(shown, DocumentPicture):
            self.picture.show_picture(shown)
            self.stack.setCurrentWidget(self.picture)
        else:
            self._show_text(shown)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.stack.setCurrentWidget(self.error)

    def _show_pdf(self, shown: DocumentPdf) -> None:
        problem = self.pdf.show_passage(shown.passage, shown.data, shown.boxes)
        if problem:
            self.show_error(problem)
        else:
            self.stack.setCurrentWidget(self.pdf)

    def _show_text(self, shown: DocumentText) -> None:
        self.text.show_passage(shown)
        self.stack.setCurrentWidget(self.text)

    def document_menu(self) -> QMenu:
        return document_menu(self, [self.passage.path] if self.passage else [], self.taskRequested.emit)

    def _task_menu(self) -> None:
        menu = self.document_menu()
        if not menu.isEmpty():
            menu.exec(self.task_button.mapToGlobal(self.task_button.rect().bottomLeft()))

    def _open_externally(self) -> None:
        """Hand documents to the desktop; a program or script would be run, so its folder is shown instead."""
        if self.passage is None:
            return
        path = Path(self.passage.path)
        if safe_to_open(path):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
            return
        self.note.setText(f"{fmt.file_name(self.passage.path)} is not a document Hearth opens (it could be a "
                          "program or script), so its folder is shown instead.")
        self.note.show()
        self._show_in_folder()

    def _show_in_folder(self) -> None:
        if self.passage is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.passage.path).parent)))
