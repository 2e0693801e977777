"""The window under test: opened on its own data folder (never the user's), closed cleanly."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktop.ui.main_window import MainWindow
from desktop.workers.events import EnginePhase, IndexFinished
from tests.conftest import MODELS
from tests.gui.helpers import Recorder, wait_until
from tests.gui.payload_probe import PayloadProbe
from tests.samples import write_corpus

# Short answers from short prompts keep the real-model tests quick on a busy CPU.
TEST_SETTINGS = {"generation": {"max_tokens": 24}, "retrieval": {"top_k": 3}}

OpenWindow = Callable[..., MainWindow]


@pytest.fixture(scope="session")
def hearth_app(qapp: QApplication) -> QApplication:
    from desktop.app import create_application

    return create_application()


def write_settings(data_dir: Path, settings: dict[str, object] | None = None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps(settings or TEST_SETTINGS), encoding="utf-8")


_probes: list[PayloadProbe] = []


def open_test_window(data_dir: Path, *, preload: bool = True) -> MainWindow:
    from desktop.app import open_window

    window = open_window(data_dir, MODELS, preload=preload)
    window.resize(1200, 780)
    c = window.controller
    _probes.append(PayloadProbe(
        c, c.chat, c.library, c.models, c.insights, c.engine, c.store, c.indexer, c.documents, c.watcher,
        c.insights_worker,
    ))
    return window


def open_indexed_window(data_dir: Path, timeout: float) -> tuple[MainWindow, IndexFinished]:
    """A window on ``data_dir`` with the sample corpus (written next to it) indexed, and the model and
    embedder loaded; with what the indexing run reported."""
    corpus = data_dir.parent / "corpus"
    write_corpus(corpus)
    write_settings(data_dir)
    window = open_test_window(data_dir, preload=True)
    indexed = Recorder(window.controller.library.indexFinished)
    window.controller.add_paths([corpus])
    wait_until(lambda: indexed.items, timeout, "the corpus to be indexed")
    models = window.controller.models
    wait_until(lambda: models.current is not None and models.current.phase == EnginePhase.READY, timeout,
               "the model and embedder to load")
    return window, indexed.last


@pytest.fixture(autouse=True)
def typed_payloads() -> Iterator[None]:
    """Every payload a window's signals carried during the test had the type its signal declares."""
    yield
    mismatches = [m for probe in _probes for m in probe.mismatches]
    _probes.clear()
    assert not mismatches, mismatches


@pytest.fixture(scope="module", autouse=True)
def windows_closed_after_each_module(hearth_app: QApplication) -> Iterator[None]:
    """A window a test left open keeps Python's collection on the GUI thread, which only runs while
    events are processed: closed here, so the tests after it collect garbage as usual."""
    yield
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.collector.holding:
            widget.close()
    assert gc.isenabled()


@pytest.fixture
def open_gui(hearth_app: QApplication) -> Iterator[OpenWindow]:
    """Opens windows for one test and closes whatever is still open at its end."""
    opened: list[MainWindow] = []

    def factory(data_dir: Path, *, preload: bool = False) -> MainWindow:
        write_settings(data_dir)
        window = open_test_window(data_dir, preload=preload)
        opened.append(window)
        return window

    yield factory
    for window in opened:
        window.close()
