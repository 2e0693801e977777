"""settings.json in the window: a bad value is named and the file kept as it is; models and adapters
the user picks in the window may be named by full path, and the settings that name them still load;
a data folder's own list of "picked" files counts for nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QPushButton

from desktop.ui.models_dialog import ModelsDialog
from tests.conftest import MODELS, REPO
from tests.gui.conftest import TEST_SETTINGS, OpenWindow, open_test_window, write_settings
from tests.gui.helpers import Recorder, drop_files, wait_until
from tests.llm.helpers import write_lora

MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"


def hearth_status(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", "status"], capture_output=True, text=True,
                          env={**os.environ, "HEARTH_HOME": str(data_dir)}, cwd=REPO, timeout=120)


def test_an_invalid_settings_file_is_named_and_never_saved_over(hearth_app: QApplication, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings_file = data_dir / "settings.json"
    settings_file.write_text(json.dumps({"top_k": 7, "parse_timeout_s": 1e12}), encoding="utf-8")
    before = settings_file.read_bytes()
    window = open_test_window(data_dir, preload=False)
    try:
        assert window.banner.isVisible() and "parse_timeout_s" in window.banner.text.text()
        # Choosing a model saves the settings: that would replace the file and lose top_k.
        window.controller.models.use(str(MODELS / MODEL))
        wait_until(lambda: any(p.source == "settings" and "not saved" in p.message for p in window.banner.problems),
                   30, "the refusal to save over the file")
        assert settings_file.read_bytes() == before
    finally:
        window.close()
    assert settings_file.read_bytes() == before


def test_a_model_and_an_adapter_picked_in_the_window_stay_usable(open_gui: OpenWindow, tmp_path: Path) -> None:
    window = open_gui(tmp_path / "data")
    controller = window.controller
    catalogs, saved = Recorder(controller.models.catalog), Recorder(controller.models.settingsSaved)
    elsewhere = tmp_path / "downloads"
    elsewhere.mkdir()
    model = elsewhere / "my-model.gguf"
    os.symlink(MODELS / MODEL, model)
    adapter = write_lora(elsewhere / "style.gguf")
    drop_files(window, [model])
    wait_until(lambda: any(any(m.path == str(model) for m in c.models) for c in catalogs.items), 30,
               "the dropped model to be listed")

    window.show_models()
    dialog = window.findChild(ModelsDialog)
    assert dialog is not None
    wait_until(lambda: any(m.path == str(model) for m in dialog.models), 30, "the dialog to list the model")
    dialog.table.selectRow(next(row for row, m in enumerate(dialog.models) if m.path == str(model)))
    dialog.lora.setText(str(adapter))
    dialog.passages.setValue(4)
    dialog.drafts.setValue(3)
    dialog.use_button.click()
    wait_until(lambda: len(saved) == 2, 30, "the model and its adapter to be saved")

    stored = json.loads((tmp_path / "data" / "settings.json").read_text(encoding="utf-8"))
    assert stored["default_model"] == str(model)
    assert stored["model_overrides"]["my-model.gguf"]["lora_path"] == str(adapter)
    assert stored["model_overrides"]["my-model.gguf"]["passages"] == 4
    assert stored["model_overrides"]["my-model.gguf"]["drafts"] == 3
    status = hearth_status(tmp_path / "data")
    assert status.returncode == 0, status.stderr
    assert not any(p.source == "settings" for p in window.banner.problems)


def test_a_data_folders_own_list_of_picked_models_is_not_trusted(
    open_gui: OpenWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handed-over data folder ships models.json (where older versions kept the files picked in the
    window) listing its own evil.gguf, and settings naming it: refused. Once the user adds that file with
    the Models dialog, in a window on any data folder, the same settings load."""
    evil = tmp_path / "elsewhere" / "evil.gguf"
    evil.parent.mkdir()
    os.symlink(MODELS / MODEL, evil)  # a real model: the window checks what it adds
    handed_over = tmp_path / "handed-over"
    write_settings(handed_over, {**TEST_SETTINGS, "default_model": str(evil)})
    own_list = json.dumps({"paths": [str(evil)]})
    (handed_over / "models.json").write_text(own_list, encoding="utf-8")

    refused = hearth_status(handed_over)
    assert refused.returncode == 2, refused.stdout
    assert f"Invalid setting: default_model: {evil}" in refused.stderr and "Traceback" not in refused.stderr
    assert (handed_over / "models.json").read_text(encoding="utf-8") == own_list  # the user's file stays

    window = open_gui(tmp_path / "mine")
    catalogs = Recorder(window.controller.models.catalog)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args: (str(evil), "GGUF models (*.gguf)"))
    window.show_models()
    dialog = window.findChild(ModelsDialog)
    assert dialog is not None
    next(b for b in dialog.findChildren(QPushButton) if b.text().startswith("Add model file")).click()
    wait_until(lambda: any(any(m.path == str(evil) for m in c.models) for c in catalogs.items), 30,
               "the added model to be listed")
    accepted = hearth_status(handed_over)
    assert accepted.returncode == 0, accepted.stderr
    assert not (tmp_path / "mine" / "models.json").exists()  # the pick is kept outside every data folder
