"""Models the user added from elsewhere (a dropped .gguf): their paths, remembered in the user's config folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from desktop.core.errors import ModelError
from desktop.core.picked import load_picked, remember_picked
from desktop.llm.gguf_info import ModelInfo, read_model_info

log = logging.getLogger("hearth.models")


def remembered_models() -> list[Path]:
    return [Path(p) for p in load_picked().paths]


def remember_model(models_dir: Path, path: Path) -> ModelInfo:
    """Check that ``path`` is a readable GGUF model and remember it; raises ModelError if it is not."""
    path = Path(os.path.abspath(path))  # as the user sees it: a link keeps its own name
    info = read_model_info(path, models_dir=models_dir)
    if path.parent == Path(os.path.abspath(models_dir)):
        return info  # already listed from the models folder
    remember_picked(models=[str(path)])
    return info


def remembered_infos(models_dir: Path) -> list[ModelInfo]:
    """The remembered models still present and readable; the others are logged and left out."""
    found = []
    for path in remembered_models():
        try:
            found.append(read_model_info(path, models_dir=models_dir))
        except (ModelError, OSError) as exc:
            log.warning("Skipping remembered model %s: %s", path, exc)
    return found
