"""The insights thread: answer statistics, the topic map and drift tests, computed away from the GUI
thread (clustering 100,000 passages takes seconds), and feedback on answers saved."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Slot

from desktop.core.types import Message
from desktop.services.home import Home
from desktop.services.insights import answer_insights
from desktop.services.library_insights import library_insights
from desktop.workers.errors import reported
from desktop.workers.events import FeedbackRequest, InsightsSnapshot, Problem
from desktop.workers.thread_stores import ThreadStores
from desktop.workers.threads import quit_current_thread
from desktop.workers.typed import carrying


class InsightsWorker(QObject):
    ready = carrying(InsightsSnapshot)  # twice per refresh: the answers first, then with the library
    feedback_saved = carrying(Message)
    problem = carrying(Problem)

    def __init__(self, home: Home) -> None:
        super().__init__()
        self._home = home
        self._stores = ThreadStores(home)

    @Slot()
    @reported("insights")
    def start(self) -> None:
        """Import the statistics now, in this thread, while the window starts: scipy's import was
        0.6 s of the page's first opening (1.1 s with 10,000 answers; the next ones took 0.2 s), and
        scikit-learn's, done on the first map, held the GUI thread up to 100 ms at a time."""
        import scipy.sparse
        import scipy.stats  # noqa: F401
        import sklearn.cluster
        import sklearn.decomposition
        import sklearn.feature_extraction.text
        import sklearn.linear_model
        import sklearn.metrics
        import sklearn.model_selection  # noqa: F401

    @Slot(object)
    @reported("insights")
    def refresh(self, with_library: bool) -> None:
        answers = answer_insights(self._stores.conversations(), now=time.time())
        self.ready.emit(InsightsSnapshot(answers=answers))
        if with_library:
            library = library_insights(self._stores.workspace(), self._home.insights_dir)
            self.ready.emit(InsightsSnapshot(answers=answers, library=library))

    @Slot(object)
    @reported("chat")
    def set_feedback(self, request: FeedbackRequest) -> None:
        self.feedback_saved.emit(self._stores.conversations().set_feedback(request.message_id, request.feedback))

    @Slot()
    def close(self) -> None:
        try:
            self._stores.close()
        finally:
            quit_current_thread()

