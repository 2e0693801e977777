"""The passages an answer used, best first: file, page or heading, snippet; a click opens one in place.

(No score: the search fuses ranks, and a fused rank means nothing to a reader.)
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from desktop.core.types import Passage
from desktop.ui import format as fmt
from desktop.ui.widgets import label
from desktop.workers.typed import carrying


class SourceCard(QFrame):
    clicked = carrying(Passage)

    def __init__(self, passage: Passage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SourceCard")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        copies = "".join(f"\nAlso in {path}" for path in passage.also_in)
        self.setToolTip(f"{passage.path}{copies}\nClick to open it at this passage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(3)
        top = QHBoxLayout()
        top.setSpacing(8)
        badge = label(str(passage.n), "CiteBadge")
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        badge.setMinimumWidth(20)
        top.addWidget(badge)
        name = label(fmt.file_name(passage.path), "SectionTitle")
        top.addWidget(name, 1)
        layout.addLayout(top)
        self.meta = label("", "Muted")
        layout.addWidget(self.meta)
        text = label(fmt.snippet(passage.text), wrap=True)
        layout.addWidget(text)
        self.passage = passage
        self.set_passage(passage)

    def set_passage(self, passage: Passage) -> None:
        """The same passage, once the answer is complete and it is known whether it was cited."""
        self.passage = passage
        where = fmt.location(passage)
        parts = (where, _also_in(passage.also_in), "cited" if passage.cited else "")
        self.meta.setText(" · ".join(part for part in parts if part))
        self.meta.setVisible(bool(self.meta.text()))
        if self.property("cited") != passage.cited:
            self.setProperty("cited", passage.cited)
            self.style().unpolish(self)
            self.style().polish(self)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(self.passage)
        super().mouseReleaseEvent(event)


def _also_in(paths: tuple[str, ...]) -> str:
    """The other files holding the passage's text, by name: "also in a.txt", "also in a.txt and 2 more"."""
    if not paths:
        return ""
    more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
    return f"also in {fmt.file_name(paths[0])}{more}"


class SourcesPanel(QWidget):
    passageClicked = carrying(Passage)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 8)
        layout.setSpacing(4)
        layout.addWidget(label("Sources", "PageTitle"))
        self.subtitle = label("", "Muted", wrap=True)
        layout.addWidget(self.subtitle)
        layout.addSpacing(6)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder = QWidget()
        self._cards = QVBoxLayout(holder)
        self._cards.setContentsMargins(0, 0, 4, 0)
        self._cards.setSpacing(8)
        self._cards.addStretch(1)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        self.passages: tuple[Passage, ...] = ()
        self.show_passages(())

    def show_passages(self, passages: tuple[Passage, ...]) -> None:
        same = [(p.n, p.chunk_id) for p in passages] == [(p.n, p.chunk_id) for p in self.passages]
        self.passages = passages
        if same and passages:
            by_number = {p.n: p for p in passages}
            for card in self.cards():  # the finished answer's passages: only "cited" changed
                card.set_passage(by_number[card.passage.n])
            self._update_subtitle()
            return
        while self._cards.count() > 1:
            item = self._cards.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        ordered = sorted(passages, key=lambda p: p.n)
        for index, passage in enumerate(ordered):
            card = SourceCard(passage)
            card.clicked.connect(self.passageClicked)
            self._cards.insertWidget(index, card)
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        passages = self.passages
        cited = sum(1 for p in passages if p.cited)
        if not passages:
            self.subtitle.setText("When an answer draws on your files, the passages it used appear here.")
        else:
            self.subtitle.setText(
                f"{fmt.count(len(passages), 'passage')} given to the model, {cited} cited. Click one to read it "
                "in place."
            )

    def cards(self) -> list[SourceCard]:
        found = []
        for index in range(self._cards.count()):
            item = self._cards.itemAt(index)
            widget = item.widget() if item is not None else None
            if isinstance(widget, SourceCard):
                found.append(widget)
        return found
