"""A data folder chosen in Settings, remembered outside any data folder (in the user's config folder)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import platformdirs

from desktop.core.paths import APP_NAME

log = logging.getLogger("hearth.ui")

LOCATION_FILE = "location.json"


def _file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / LOCATION_FILE


def chosen_data_dir() -> Path | None:
    try:
        data = json.loads(_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable %s: %s", _file(), exc)
        return None
    folder = data.get("data_dir") if isinstance(data, dict) else None
    return Path(folder) if isinstance(folder, str) and folder else None


def remember_data_dir(folder: Path) -> None:
    target = _file()
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps({"data_dir": str(folder)}, indent=2), encoding="utf-8")
    temp.replace(target)
