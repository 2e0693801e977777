"""The Insights page's side: asks the insights worker for figures (when the page is shown, and after
indexing), and saves feedback on answers."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktop.core.types import Message
from desktop.workers.events import FeedbackRequest, InsightsSnapshot
from desktop.workers.insights import InsightsWorker
from desktop.workers.typed import carrying, link, relay


class InsightsFacade(QObject):
    ready = carrying(InsightsSnapshot)
    feedbackSaved = carrying(Message)

    _refresh = carrying(bool)
    _feedback = carrying(FeedbackRequest)

    def __init__(self, worker: InsightsWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.latest: InsightsSnapshot | None = None
        self._library_stale = True  # the map is computed again only after the library changed
        link(self, _refresh=worker.refresh, _feedback=worker.set_feedback)
        link(worker, ready=self._on_ready)
        relay(worker, "feedback_saved", self, "feedbackSaved")

    def refresh(self) -> None:
        self._refresh.emit(self._library_stale)
        self._library_stale = False

    def library_changed(self) -> None:
        self._library_stale = True

    def rate(self, request: FeedbackRequest) -> None:
        self._feedback.emit(request)

    def _on_ready(self, snapshot: InsightsSnapshot) -> None:
        if snapshot.library is None and self.latest is not None and self.latest.library is not None:
            snapshot = InsightsSnapshot(answers=snapshot.answers, library=self.latest.library)  # keep the map drawn
        self.latest = snapshot
        self.ready.emit(snapshot)
