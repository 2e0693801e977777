"""The window's ordinary events run no Python: each Python call on the GUI thread waits for the global
lock, which a worker holds for up to 20 ms at a time (a Chroma write), so a filter that saw every
event of every widget turned one re-layout into pauses of 100 ms while indexing (bench_gui.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType
from typing import Any

from PySide6.QtCore import QEvent, QPoint, QSize
from PySide6.QtGui import QMoveEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QLabel

from tests.gui.conftest import open_test_window


def test_events_of_a_plain_widget_in_the_window_call_no_python(hearth_app: QApplication, tmp_path: Path) -> None:
    window = open_test_window(tmp_path / "data", preload=False)
    try:
        target = QLabel("status", window.statusBar())  # a widget with no Python handler of its own
        target.ensurePolished()  # the style sees a widget once, when it is polished
        events = [QEvent(QEvent.Type.LayoutRequest), QResizeEvent(QSize(120, 20), QSize(100, 20)),
                  QMoveEvent(QPoint(4, 0), QPoint(0, 0))]
        called: list[str] = []

        def profile(frame: FrameType, event: str, arg: Any) -> None:
            if event == "call":
                called.append(frame.f_code.co_qualname)

        sys.setprofile(profile)
        try:
            for event in events:
                QApplication.sendEvent(target, event)
            target.grab()  # painted through the application's style, which is partly Python
        finally:
            sys.setprofile(None)
        assert called == []
    finally:
        window.close()
