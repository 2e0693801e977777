"""The user's config folder: what Hearth remembers outside every data folder.

A data folder may come from someone else (handed over, or a synced folder tampered with), so whatever
decides which data folder opens or which files outside the models folder may be loaded lives here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypeVar

import platformdirs
from pydantic import BaseModel

from desktop.core.paths import APP_NAME
from desktop.core.private import write_private_text

log = logging.getLogger("hearth.config")

M = TypeVar("M", bound=BaseModel)


def config_dir() -> Path:
    """Computed on each call (nothing is created): ``XDG_CONFIG_HOME`` moves it on Linux and macOS."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def read_config(name: str, model: type[M]) -> M | None:
    """The file ``name`` in the config folder; None if there is none, or if it is unreadable (logged)."""
    path = config_dir() / name
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable %s: %s", path, exc)
        return None


def write_config(name: str, value: BaseModel) -> None:
    """Replace the file ``name`` in the config folder at once; only the user may read it."""
    write_private_text(config_dir() / name, value.model_dump_json(indent=2))
