"""The library's topic map: passages as dots coloured by topic, each topic a labelled circle.
Hovering a topic shows its words and documents; clicking it restricts the chat to its documents."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QToolTip, QWidget

from desktop.services.topics import Topic, TopicMap
from desktop.workers.typed import carrying

MARGIN = 40.0


def topic_color(topic: int) -> QColor:
    return QColor.fromHsvF((topic * 0.618034) % 1.0, 0.55, 0.85)


class TopicMapView(QWidget):
    topicClicked = carrying(Topic)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumHeight(360)
        self._map: TopicMap | None = None
        self._hovered: int | None = None
        self._frame: tuple[tuple[int, int, int], tuple[float, float, float, float]] | None = None

    def set_map(self, topic_map: TopicMap | None) -> None:
        self._map = topic_map if topic_map is not None and topic_map.topics else None
        self._hovered = None
        self._frame = None
        self.update()

    # -- geometry ---------------------------------------------------------------------------------
    def _transform(self) -> tuple[float, float, float, float]:
        """Kept per map and size: computed for every point drawn, it made a paint of 2,000 points
        take 150 ms on the GUI thread."""
        assert self._map is not None
        key = (id(self._map), self.width(), self.height())  # set_map forgets it: an id may be reused
        if self._frame is None or self._frame[0] != key:
            xs = [p.x for p in self._map.points] + [t.x for t in self._map.topics]
            ys = [p.y for p in self._map.points] + [t.y for t in self._map.topics]
            span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
            scale = min(self.width() - 2 * MARGIN, self.height() - 2 * MARGIN) / span
            self._frame = (key, (min(xs), min(ys), scale, span))
        return self._frame[1]

    def _position(self, x: float, y: float) -> QPointF:
        left, top, scale, span = self._transform()
        offset = max(0.0, (self.width() - 2 * MARGIN - span * scale) / 2)  # centred across a wide page
        return QPointF(MARGIN + offset + (x - left) * scale, MARGIN + (y - top) * scale)

    def _radius(self, topic: Topic) -> float:
        assert self._map is not None
        return 8 + 28 * math.sqrt(topic.passages / max(self._map.passages, 1))

    def topic_at(self, point: QPointF) -> Topic | None:
        if self._map is None:
            return None
        for topic in sorted(self._map.topics, key=lambda t: t.passages):  # the smaller on top
            centre = self._position(topic.x, topic.y)
            if math.hypot(point.x() - centre.x(), point.y() - centre.y()) <= self._radius(topic):
                return topic
        return None

    # -- events -----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._map is None:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        for point in self._map.points:
            color = topic_color(point.topic)
            color.setAlphaF(0.45)
            painter.setBrush(color)
            painter.drawEllipse(self._position(point.x, point.y), 2.2, 2.2)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        for topic in self._map.topics:
            centre, radius = self._position(topic.x, topic.y), self._radius(topic)
            color = topic_color(topic.id)
            color.setAlphaF(0.9 if topic.id == self._hovered else 0.6)
            painter.setBrush(color)
            painter.setPen(QColor(255, 255, 255) if topic.id == self._hovered else Qt.PenStyle.NoPen)
            painter.drawEllipse(centre, radius, radius)
            painter.setPen(self.palette().text().color())
            box = QRectF(centre.x() - 90, centre.y() + radius + 2, 180, 18)
            painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, topic.label)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        topic = self.topic_at(event.position())
        hovered = topic.id if topic else None
        if hovered != self._hovered:
            self._hovered = hovered
            self.update()
        if topic is None:
            QToolTip.hideText()
            return
        documents = [html.escape(path) for path in topic.documents] or ["(no document mostly about it)"]
        # Escaped: a file name is never read as markup.
        QToolTip.showText(
            event.globalPosition().toPoint(),
            f"<b>{html.escape(topic.label)}</b><br>{html.escape(', '.join(topic.terms))}<br>"
            f"{topic.passages:,} passages, "
            f"{len(topic.document_ids):,} documents:<br>{'<br>'.join(documents)}<br>Click to ask only about these.",
            self,
        )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        topic = self.topic_at(event.position())
        if topic is not None and event.button() == Qt.MouseButton.LeftButton and topic.document_ids:
            self.topicClicked.emit(topic)
