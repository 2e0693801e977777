"""Indexing in progress, along the bottom of the window: files, passages, time left, current file.

After a run it shows a summary (and the problems, if any) until dismissed or, when all went well,
for a few seconds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QVBoxLayout, QWidget

from desktop.core.types import IndexPhase, IndexProgress
from desktop.ui import format as fmt
from desktop.ui.widgets import PushButton, ToolButton, label
from desktop.workers.events import IndexFinished

SUMMARY_SHOWN_MS = 6000


class IndexingBar(QFrame):
    pauseRequested = Signal()
    resumeRequested = Signal()
    cancelRequested = Signal()
    problemsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("IndexingBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 8, 12, 8)
        layout.setSpacing(12)
        texts = QVBoxLayout()
        texts.setSpacing(3)
        top = QHBoxLayout()
        self.title = label("Indexing", "SectionTitle")
        self.detail = label("", "Muted")
        top.addWidget(self.title)
        top.addWidget(self.detail, 1)
        texts.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        texts.addWidget(self.progress)
        self.current = label("", "Faint")
        self.current.setMinimumWidth(100)
        texts.addWidget(self.current)
        layout.addLayout(texts, 1)
        self.pause_button = PushButton("Pause", "pause")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button = PushButton("Cancel", "close")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.problems_button = PushButton("Show problems", "warning")
        self.problems_button.clicked.connect(self.problemsRequested)
        self.close_button = ToolButton("close", tooltip="Dismiss")
        self.close_button.clicked.connect(self.hide)
        for button in (self.pause_button, self.cancel_button, self.problems_button, self.close_button):
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        self._paused = False
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self.hide)
        self.hide()

    @property
    def paused(self) -> bool:
        return self._paused

    def started(self) -> None:
        self._hide_timer.stop()
        self._set_running(True)
        self._set_paused(False)
        self.title.setText("Indexing")
        self.detail.setText("Looking for files…")
        self.current.setText("")
        self.progress.setRange(0, 0)  # busy until the number of files is known
        self.show()

    def update_progress(self, progress: IndexProgress) -> None:
        if progress.phase == IndexPhase.SCANNING:
            if progress.files_total:
                self.progress.setRange(0, progress.files_total)
                self.progress.setValue(progress.files_done)
                self.detail.setText(f"Checking {progress.files_done:,} of {fmt.count(progress.files_total, 'file')} "
                                    "for changes…")
            else:
                self.detail.setText("Looking for files…")
            return
        if not progress.files_total:
            return
        self.progress.setRange(0, progress.files_total)
        self.progress.setValue(progress.files_done)
        parts = [
            f"{progress.files_done:,} of {fmt.count(progress.files_total, 'file')}",
            fmt.count(progress.chunks_done, "passage"),
        ]
        if not self._paused and (left := fmt.eta(progress.eta_seconds)):
            parts.append(left)
        if progress.failed:
            parts.append(f"{len(progress.failed)} could not be read")
        self.detail.setText("  ·  ".join(parts))
        if progress.current_file:
            step = f"  ·  {progress.step}" if progress.step else ""
            self.current.setText(self.current.fontMetrics().elidedText(
                progress.current_file, Qt.TextElideMode.ElideMiddle, max(200, self.current.width())
            ) + step)
            self.current.setToolTip(progress.current_file)

    def finished(self, result: IndexFinished) -> None:
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.current.setText("")
        report = result.report
        if result.cancelled:
            self.title.setText("Indexing cancelled")
            self.detail.setText("What was indexed so far is kept.")
        elif report is None:
            self.title.setText("Indexing failed")
            self.detail.setText(result.failed[0].reason if result.failed else "")
        else:
            self.title.setText("Library up to date")
            parts = []
            if report.added:
                parts.append(f"{report.added:,} added")
            if report.updated:
                parts.append(f"{report.updated:,} updated")
            if report.removed:
                parts.append(f"{report.removed:,} removed")
            if report.unchanged and not parts:
                parts.append(f"{fmt.count(report.unchanged, 'file')} unchanged")
            parts.append(fmt.count(report.chunks, "new passage"))
            self.detail.setText("  ·  ".join(parts))
        problems = len(result.failed)
        self.problems_button.setVisible(bool(problems))
        if problems:
            self.problems_button.setText(f"{problems} could not be read")
        else:
            self._hide_timer.start(SUMMARY_SHOWN_MS)
        self.show()

    def _set_running(self, running: bool) -> None:
        self.pause_button.setVisible(running)
        self.cancel_button.setVisible(running)
        self.close_button.setVisible(not running)
        self.problems_button.setVisible(False)

    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.set_icon_name("play" if paused else "pause")
        if paused:
            self.title.setText("Indexing paused")
        else:
            self.title.setText("Indexing")

    def _toggle_pause(self) -> None:
        if self._paused:
            self._set_paused(False)
            self.resumeRequested.emit()
        else:
            self._set_paused(True)
            self.pauseRequested.emit()
