"""Remember models that crashed the model host while loading, so the app can refuse to auto-load
them on its next start.

A mark is written *before* loading and removed when the load finishes (or fails cleanly), so it
survives even a crash that takes the whole app down. Models are identified by resolved path.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from desktop.core.private import write_private_text

log = logging.getLogger(__name__)

MARKS_FILE = "crashed_models.json"
_lock = threading.Lock()


def _key(model_path: Path) -> str:
    return str(model_path.resolve())


def crashed_models(data_dir: Path) -> set[str]:
    """Resolved paths of the models that crashed the host while loading and never loaded since."""
    path = data_dir / MARKS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable %s: %s", path, exc)
        return set()
    models = data.get("models") if isinstance(data, dict) else None
    return {item for item in models if isinstance(item, str)} if isinstance(models, list) else set()


def _write(data_dir: Path, models: set[str]) -> None:
    write_private_text(data_dir / MARKS_FILE, json.dumps({"models": sorted(models)}, indent=2))


def mark_loading(data_dir: Path, model_path: Path) -> None:
    with _lock:
        models = crashed_models(data_dir)
        models.add(_key(model_path))
        _write(data_dir, models)


def clear_mark(data_dir: Path, model_path: Path) -> None:
    with _lock:
        models = crashed_models(data_dir)
        if _key(model_path) in models:
            models.discard(_key(model_path))
            _write(data_dir, models)
