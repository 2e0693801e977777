"""Shared bits of the benchmarks: a peak-memory sampler and table printing."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from desktop.core.paths import models_dir


class PeakMemory:
    """Samples the RSS of this process plus its children (parse workers) every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process(os.getpid())
        while not self._stop.is_set():
            try:
                total = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                total = 0
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def pump_events_until(predicate: Callable[[], object], timeout: float, *, who: str, step_ms: int = 20) -> None:
    """Run Qt's event loop until ``predicate`` holds; a hang ends the benchmark ``who`` with a message.
    QEventLoop.exec releases the GIL, unlike QTest.qWait, so the workers' threads run meanwhile."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"{who}: timed out after {timeout:.0f} s")
        loop = QEventLoop()
        QTimer.singleShot(step_ms, loop.quit)
        loop.exec()


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}\n" + "-" * (width + 24))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def print_json(record: dict[str, Any]) -> None:
    print(json.dumps(record, sort_keys=True))


def bundled_model(file_name: str) -> Path | None:
    """The model fetched into the models folder, or None (said on stderr) when it is absent."""
    model = models_dir() / file_name
    if not model.is_file():
        print(f"{model} is absent; run `make models` first.", file=sys.stderr)
        return None
    return model
