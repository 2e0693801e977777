"""Python's cyclic garbage collected on the GUI thread only, while a window is open.

Qt objects must be destroyed on the thread they live on. Left alone, Python collects reference
cycles on whichever thread happens to allocate, so a worker that collects a cycle holding a widget
destroys that widget off the GUI thread, and the app crashes (seen once in the test suite: the
engine thread, mid-search, collecting). While a window is open, automatic collection is off, and a
timer on the GUI thread collects whenever the allocation counts say the collector would have.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 250  # a quarter of a second's allocations at most wait for their collection

_holders = 0  # open windows: the last one to close hands collection back to Python


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        global _holders
        _holders += 1
        gc.disable()
        self._held = True
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_if_due)
        self._timer.start(CHECK_MS)

    @property
    def holding(self) -> bool:
        """Whether this window still keeps collection on the GUI thread (it has not closed)."""
        return self._held

    def collect_if_due(self) -> None:
        """The oldest generation whose count reached its threshold, as Python's own collector picks."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [generation for generation in (2, 1, 0) if counts[generation] >= thresholds[generation] > 0]
        if due:
            gc.collect(due[0])

    def release(self) -> None:
        """The window closed (its workers stopped): Python collects on its own again once none is open."""
        global _holders
        if not self._held:
            return
        self._held = False
        self._timer.stop()
        _holders -= 1
        if _holders == 0:
            gc.enable()
