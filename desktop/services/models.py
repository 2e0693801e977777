"""The chat models Hearth knows (the models folder and those the user added from elsewhere), and
which one to use: one the user named, the configured default, or the bundled one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from desktop.core.errors import ModelError
from desktop.core.manifest import load_manifest
from desktop.core.model_info import ModelInfo
from desktop.core.picked import load_picked, remember_picked
from desktop.llm.gguf_info import list_models, read_model_info
from desktop.services.workspace import Workspace

log = logging.getLogger("hearth.models")


def default_model_path(workspace: Workspace) -> Path:
    configured = workspace.settings.default_model
    if configured:
        return _configured_model(workspace, configured)
    for entry in load_manifest(workspace.models_dir).models:
        if entry.kind == "chat":
            return workspace.models_dir / entry.path
    found = sorted(workspace.models_dir.glob("*.gguf"))
    if not found:
        raise ModelError(f"No chat model found in {workspace.models_dir}; add a .gguf file there.")
    return found[0]


def resolve_model(workspace: Workspace, name_or_path: str) -> Path:
    """What the user typed (``hearth ask --model``): a path, a file name in the models folder, or a
    manifest name."""
    candidate = Path(name_or_path).expanduser()
    if candidate.exists():
        return candidate.resolve()
    return _in_models_folder(workspace, name_or_path)


def _configured_model(workspace: Workspace, name: str) -> Path:
    """The settings' model: the full path of one added in the window (checked when the settings were
    loaded), else a name looked up in the models folder only, never in the working folder."""
    if Path(name).is_absolute():
        if not Path(name).is_file():
            raise ModelError(f"Model file not found: {name}")
        return Path(name)
    return _in_models_folder(workspace, name)


def _in_models_folder(workspace: Workspace, name: str) -> Path:
    in_folder = workspace.models_dir / name
    if in_folder.exists():
        return in_folder
    entry = load_manifest(workspace.models_dir).find(name)
    if entry is not None and entry.kind == "chat":
        return workspace.models_dir / entry.path
    raise ModelError(f"Model file not found: {name}")


def available_models(workspace: Workspace) -> list[ModelInfo]:
    """The models folder's models, then those the user added; one that went missing or broke is
    logged and left out."""
    added = []
    for path in (Path(p) for p in load_picked().paths):
        try:
            added.append(read_model_info(path, models_dir=workspace.models_dir))
        except (ModelError, OSError) as exc:
            log.warning("Skipping added model %s: %s", path, exc)
    return [*list_models(workspace.models_dir), *added]


def add_model(workspace: Workspace, path: Path) -> ModelInfo:
    """Check that ``path`` is a readable GGUF model and remember it (the window's "Add model file");
    raises ModelError if it is not."""
    path = Path(os.path.abspath(path))  # as the user sees it: a link keeps its own name
    info = read_model_info(path, models_dir=workspace.models_dir)
    if path.parent != Path(os.path.abspath(workspace.models_dir)):  # else listed from the folder already
        remember_picked(models=[str(path)])
    return info
