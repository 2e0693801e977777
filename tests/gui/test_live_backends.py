"""Backends changed in the running window: the status bar names what leaves the machine at once, and
the next question goes to the model the settings now name (the old host is closed)."""

from __future__ import annotations

from pathlib import Path

from desktop.workers.events import AnswerFailed
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import Recorder, wait_until
from tests.servers import free_port

TIMEOUT = 120  # hang guard only


def test_the_window_follows_a_change_of_model_backend_at_once(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    controller = window.controller
    assert window.status.offline.isVisibleTo(window) and not window.status.remote.isVisibleTo(window)
    failed: Recorder = Recorder(controller.chat.failed)
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there

    controller.apply_settings(controller.settings.updated(backends={"model_server": closed}))
    assert window.status.remote.isVisibleTo(window) and not window.status.offline.isVisibleTo(window)
    assert window.status.remote.text() == "● Remote model: 127.0.0.1"
    assert controller.chat.ask("What do my notes say?")
    wait_until(lambda: failed.items, TIMEOUT, "the answer to fail")
    reason = failed.last.reason if isinstance(failed.last, AnswerFailed) else ""
    assert "Cannot reach the model server" in reason  # asked of the server, not of the local model

    # Back on this computer: the server is no longer asked, the local model answers.
    done = Recorder(controller.chat.done)
    controller.apply_settings(controller.settings.updated(backends={"model_server": None}))
    assert window.status.offline.isVisibleTo(window) and not window.status.remote.isVisibleTo(window)
    assert controller.chat.ask("What do my notes say?")
    wait_until(lambda: done.items or len(failed.items) > 1, TIMEOUT, "the local model's answer")
    assert len(failed.items) == 1, failed.last
    assert done.last.message.setup.model == "SmolLM2-135M-Instruct"
