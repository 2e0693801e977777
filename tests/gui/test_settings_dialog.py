"""The settings dialog's Backends and Tools tabs: a remote configuration round-trips with its secrets
masked; servers are checked off the GUI thread before anything is saved, and a bad one is refused with
the check's one sentence; the tools' settings are validated, the notes folder included."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from desktop.core.settings import HearthSettings, load_settings, save_settings
from desktop.ui.main_window import MainWindow
from desktop.ui.settings_dialog import SettingsDialog
from tests.conftest import MODELS
from tests.gui.conftest import OpenWindow
from tests.gui.helpers import wait_until
from tests.servers import MODEL_KEY, Server, free_port

TIMEOUT = 60  # hang guard only
REMOTE = {
    "vector_server": "https://10.0.0.5:8443", "vector_token": "chroma-token", "collection": "family-library",
    "model_server": "http://gpu-box:8080/v1", "model_api_key": "sk-local", "model_name": "qwen2.5-7b",
    "timeout_s": 30.0,
}


def dialog_for(settings: HearthSettings, data_dir: Path) -> SettingsDialog:
    return SettingsDialog(settings, data_dir, models_dir=MODELS)


def answer_next_box(button: QMessageBox.StandardButton, tries: int = 500) -> list[str]:
    """Answer the next message box (the dialog's "Rebuild the index?") with ``button``; its text is kept."""
    seen: list[str] = []

    def look(left: int) -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.button(button).click()
        elif left:
            QTimer.singleShot(20, lambda: look(left - 1))

    QTimer.singleShot(0, lambda: look(tries))
    return seen


@pytest.mark.timeout(120, method="thread")  # hang guard: a modal box left open
def test_a_remote_configuration_round_trips_with_its_secrets_masked(hearth_app: QApplication, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = HearthSettings().updated(backends=REMOTE)
    dialog = dialog_for(settings, data_dir)
    form = dialog.backends
    assert form.vector_remote.isChecked() and form.model_remote.isChecked()
    assert (form.vector_host.text(), form.vector_port.value(), form.vector_tls.isChecked()) == ("10.0.0.5", 8443, True)
    assert form.collection.text() == "family-library" and form.model_name.text() == "qwen2.5-7b"
    for secret in (form.vector_token, form.api_key):
        assert secret.echoMode() == QLineEdit.EchoMode.Password
    assert form.api_key.displayText() != "sk-local"

    dialog.max_steps.setValue(7)  # another tab changed: the servers, unchanged, need no new check
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted and dialog.result_settings is not None
    assert dialog.result_settings.backends == settings.backends and dialog.result_settings.tools.max_steps == 7
    save_settings(data_dir, dialog.result_settings)
    assert load_settings(data_dir).backends == settings.backends

    # Back to this computer: nothing to check, and the tokens typed earlier are kept for next time.
    again = dialog_for(load_settings(data_dir), data_dir)
    again.backends.vector_local.setChecked(True)
    again.backends.model_local.setChecked(True)
    assert not again.backends.vector_host.isEnabled() and not again.backends.model_url.isEnabled()
    asked = answer_next_box(QMessageBox.StandardButton.No)
    again.accept()
    assert asked == ["The vectors now live on this computer. Rebuild the whole index now? This reads every "
                     "document again."]
    assert again.result_settings is not None and again.result_settings.backends.local and not again.rebuild
    assert again.result_settings.backends.vector_token == "chroma-token"


def in_settings_dialog(window: MainWindow, act: Callable[[SettingsDialog], None]) -> list[BaseException]:
    """Open the window's settings dialog (modal) and run ``act`` in it; the dialog is closed whatever
    happens, and what ``act`` raised is returned, to be checked once the dialog is gone."""
    raised: list[BaseException] = []

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(20, run)
            return
        try:
            act(dialog)
        except BaseException as exc:  # reported once exec() has returned
            raised.append(exc)
        finally:
            if dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, run)
    window.show_settings()
    return raised


@pytest.mark.timeout(120, method="thread")  # hang guard
def test_a_url_without_scheme_or_a_closed_port_is_refused_and_nothing_is_saved(
    open_gui: OpenWindow, tmp_path: Path
) -> None:
    window = open_gui(tmp_path / "data")
    settings_file = tmp_path / "data" / "settings.json"
    before = settings_file.read_bytes()
    closed = free_port()  # bound, then closed: nothing listens there

    def act(dialog: SettingsDialog) -> None:
        form = dialog.backends
        form.model_remote.setChecked(True)
        form.model_url.setText("localhost:8080/v1")
        dialog.accept()
        assert dialog.isVisible() and dialog.tabs.currentWidget() is form
        assert "backends.model_server: 'localhost:8080/v1' is not a full URL" in dialog.error.text()

        form.model_local.setChecked(True)
        form.vector_remote.setChecked(True)
        form.vector_host.setText("127.0.0.1")
        form.vector_port.setValue(closed)
        dialog.accept()  # the servers are checked first, off the GUI thread
        wait_until(lambda: dialog.error.isVisible(), TIMEOUT, "the check's refusal")
        assert dialog.isVisible() and dialog.result_settings is None
        assert dialog.error.text() == (
            f"Not saved: Cannot reach the Chroma server at http://127.0.0.1:{closed}: check that it runs and "
            "the address is right."
        )
        assert form.result.text() in dialog.error.text()

    raised = in_settings_dialog(window, act)
    assert not raised, raised
    assert settings_file.read_bytes() == before
    assert window.controller.settings.backends.local
    assert window.status.offline.isVisibleTo(window) and not window.status.remote.isVisibleTo(window)


@pytest.fixture
def silent_server() -> Iterator[tuple[int, threading.Event, threading.Event]]:
    """A port that takes the connection and says nothing until ``release`` is set."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    asked, release = threading.Event(), threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        asked.set()
        release.wait(TIMEOUT)
        connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], asked, release
    release.set()
    listener.close()
    thread.join(TIMEOUT)


@pytest.mark.timeout(120, method="thread")  # hang guard
def test_test_connection_runs_off_the_gui_thread(
    hearth_app: QApplication, tmp_path: Path, silent_server: tuple[int, threading.Event, threading.Event]
) -> None:
    port, asked, release = silent_server
    dialog = dialog_for(HearthSettings(), tmp_path / "data")
    dialog.show()
    form = dialog.backends
    form.vector_remote.setChecked(True)
    form.vector_host.setText("127.0.0.1")
    form.vector_port.setValue(port)
    form.timeout.setValue(5)  # were the check on the GUI thread, the click would return after this, failing
    QTest.mouseClick(form.test_button, Qt.MouseButton.LeftButton)
    # The click has returned while the server still says nothing: the check waits elsewhere.
    assert form.result.text() == "Checking the servers…" and not form.test_button.isEnabled()
    wait_until(asked.is_set, TIMEOUT, "the check to reach the server")
    QTest.keyClicks(form.collection, "notes")  # the dialog keeps taking input meanwhile
    assert form.collection.text() == "notes" and form.result.text() == "Checking the servers…"
    release.set()
    wait_until(form.test_button.isEnabled, TIMEOUT, "the check's result")
    assert form.result.text() == (
        f"http://127.0.0.1:{port} does not answer in HTTP: is it the Chroma server's address?"
    )
    assert form.result.objectName() == "ErrorNote"
    dialog.close()


@pytest.mark.timeout(120, method="thread")  # hang guard
def test_tool_settings_are_validated_with_the_field_named(hearth_app: QApplication, tmp_path: Path) -> None:
    dialog = dialog_for(HearthSettings(), tmp_path / "data")
    assert dialog.max_steps.toolTip() == "Tool calls the model may make per question (1–20)"

    def refused(folder: str) -> str:
        dialog.notes_folder.setText(folder)
        dialog.accept()
        assert dialog.result_settings is None and dialog.tabs.currentWidget() is dialog.tools
        return dialog.error.text()

    assert refused("notes") == "Invalid setting: tools.notes_folder: give the full path of a folder"
    missing = tmp_path / "nowhere"
    assert refused(str(missing)) == (
        f"Invalid setting: tools.notes_folder: {missing} is not a folder that exists: create it first, or choose "
        "another"
    )
    assert "/etc is a system folder" in refused("/etc")
    a_file = tmp_path / "a file.txt"
    a_file.write_text("not a folder")
    assert "is not a folder that exists" in refused(str(a_file))

    folder = tmp_path / "My notes"
    folder.mkdir()
    dialog.notes_folder.setText(str(folder))
    dialog.max_steps.setValue(50)
    dialog.accept()
    assert dialog.result_settings is None and "tools.max_steps" in dialog.error.text()
    dialog.max_steps.setValue(8)
    dialog.approval_timeout.setValue(300)
    dialog.accept()
    assert dialog.result_settings is not None
    tools = dialog.result_settings.tools
    assert (tools.notes_folder, tools.max_steps, tools.approval_timeout_s) == (str(folder), 8, 300)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_a_notes_folder_that_cannot_be_written_is_refused(hearth_app: QApplication, tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o500)
    dialog = dialog_for(HearthSettings(), tmp_path / "data")
    dialog.notes_folder.setText(str(folder))
    dialog.accept()
    assert dialog.result_settings is None and f"{folder} is not writable" in dialog.error.text()


@pytest.mark.timeout(120, method="thread")  # hang guard
def test_the_window_saves_checked_tool_settings(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    folder = tmp_path / "notes"
    folder.mkdir()

    def act(dialog: SettingsDialog) -> None:
        dialog.notes_folder.setText(str(folder))
        dialog.max_steps.setValue(3)
        dialog.accept()

    raised = in_settings_dialog(window, act)
    assert not raised, raised
    assert window.controller.settings.tools.notes_folder == str(folder)
    saved = wait_until(lambda: json.loads((tmp_path / "data" / "settings.json").read_text()).get("tools"), TIMEOUT,
                       "the settings to be saved")
    assert saved == {"notes_folder": str(folder), "max_steps": 3}


@pytest.mark.remote
@pytest.mark.timeout(600, method="thread")  # hang guard: the servers start first
def test_the_dialog_checks_real_servers_before_the_window_uses_them(
    open_gui: OpenWindow, tmp_path: Path, servers: tuple[Server, Server]
) -> None:
    chroma, model = servers
    window = open_gui(tmp_path / "data")
    asked: list[list[str]] = []

    def act(dialog: SettingsDialog) -> None:
        form = dialog.backends
        form.vector_remote.setChecked(True)
        form.vector_host.setText("127.0.0.1")
        form.vector_port.setValue(chroma.port)
        form.model_remote.setChecked(True)
        form.model_url.setText(model.url)
        form.api_key.setText("wrong")
        dialog.accept()
        wait_until(dialog.error.isVisible, TIMEOUT, "the refusal")
        assert dialog.error.text() == f"Not saved: The model server at {model.url} refused the API key."

        form.api_key.setText(MODEL_KEY)
        form.test_button.click()
        wait_until(form.test_button.isEnabled, TIMEOUT, "the check")
        assert form.result.text() == (
            f"The Chroma server at 127.0.0.1:{chroma.port} answered and the model server offers SmolLM2-135M-Instruct."
        )
        asked.append(answer_next_box(QMessageBox.StandardButton.No))
        dialog.accept()  # checked already: saved at once
        assert dialog.result() == SettingsDialog.DialogCode.Accepted

    raised = in_settings_dialog(window, act)
    assert not raised, raised
    assert asked == [[f"The vectors now live on http://127.0.0.1:{chroma.port}. Rebuild the whole index now? "
                      "This reads every document again."]]
    assert window.status.remote.text() == f"● Remote vectors: 127.0.0.1:{chroma.port} · Remote model: 127.0.0.1"
    wait_until(lambda: load_settings(tmp_path / "data").backends.model_api_key == MODEL_KEY, TIMEOUT,
               "the settings to be saved")
    assert load_settings(tmp_path / "data").backends.vector_server == chroma.url
