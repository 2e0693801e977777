"""While a window is open, reference cycles are collected on the GUI thread only: a worker that
collected a cycle holding a widget would destroy it off its thread and crash the app."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from tests.gui.conftest import open_test_window
from tests.gui.helpers import wait_until


class _Cycle:
    def __init__(self) -> None:
        self.itself = self


def test_cycles_are_collected_on_the_gui_thread_while_a_window_is_open(
    hearth_app: QApplication, tmp_path: Path
) -> None:
    collected_on: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collected_on.append(threading.get_ident())

    window = open_test_window(tmp_path / "data", preload=False)
    gc.callbacks.append(record)
    try:
        assert not gc.isenabled()
        first: list[weakref.ref[_Cycle]] = []

        def allocate() -> None:  # far past the youngest generation's threshold, on a worker thread
            cycles = [_Cycle() for _ in range(20 * gc.get_threshold()[0])]
            first.append(weakref.ref(cycles[0]))

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        wait_until(lambda: first[0]() is None, 30, "the worker's cycles to be collected")
        assert collected_on and set(collected_on) == {threading.get_ident()}
    finally:
        gc.callbacks.remove(record)
        window.close()
    assert gc.isenabled(), "with no window open, Python collects on its own again"
