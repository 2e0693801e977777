"""Which chat model to use: one the user named, the configured default, or the bundled one."""

from __future__ import annotations

from pathlib import Path

from desktop.core.errors import ModelError
from desktop.core.manifest import load_manifest
from desktop.llm.gguf_info import ModelInfo, list_models
from desktop.services.workspace import Workspace


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
    return list_models(workspace.models_dir)
