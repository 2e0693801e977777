"""Models the user added from elsewhere (a dropped .gguf): their paths, remembered in the data folder."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from desktop.core.errors import ModelError
from desktop.llm.gguf_info import ModelInfo, read_model_info

log = logging.getLogger("hearth.models")

REMEMBERED_FILE = "models.json"


def remembered_models(data_dir: Path) -> list[Path]:
    try:
        data = json.loads((data_dir / REMEMBERED_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable %s: %s", REMEMBERED_FILE, exc)
        return []
    paths = data.get("paths") if isinstance(data, dict) else None
    return [Path(p) for p in paths if isinstance(p, str)] if isinstance(paths, list) else []


def remember_model(data_dir: Path, models_dir: Path, path: Path) -> ModelInfo:
    """Check that ``path`` is a readable GGUF model and remember it; raises ModelError if it is not."""
    path = Path(os.path.abspath(path))  # as the user sees it: a link keeps its own name
    info = read_model_info(path, models_dir=models_dir)
    if path.parent == Path(os.path.abspath(models_dir)):
        return info  # already listed from the models folder
    known = remembered_models(data_dir)
    if path not in known:
        data_dir.mkdir(parents=True, exist_ok=True)
        target = data_dir / REMEMBERED_FILE
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps({"paths": [str(p) for p in [*known, path]]}, indent=2), encoding="utf-8")
        temp.replace(target)
    return info


def remembered_infos(data_dir: Path, models_dir: Path) -> list[ModelInfo]:
    """The remembered models still present and readable; the others are logged and left out."""
    found = []
    for path in remembered_models(data_dir):
        try:
            found.append(read_model_info(path, models_dir=models_dir))
        except (ModelError, OSError) as exc:
            log.warning("Skipping remembered model %s: %s", path, exc)
    return found
