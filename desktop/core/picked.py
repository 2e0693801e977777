"""Files the user picked in the window: chat models added from elsewhere, and LoRA adapters.

The settings may name these by their full path; any other model must be a name inside the models
folder, so a settings file alone cannot make Hearth load a file from anywhere. The list is kept in the
user's config folder, never in a data folder: a data folder someone handed over could list its own files.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from desktop.core.user_config import config_dir, read_config, write_config

log = logging.getLogger("hearth.models")

PICKED_FILE = "picked_files.json"  # in the config folder
OLD_PICKED_FILE = "models.json"  # where older versions kept the list: in the data folder, so no longer read

_told: set[Path] = set()  # data folders whose old list was already mentioned in this run
_told_lock = threading.Lock()


class PickedFiles(BaseModel):
    paths: list[str] = []  # chat models: absolute paths as the user picked them (a link keeps its own name)
    adapters: list[str] = []


def load_picked() -> PickedFiles:
    """What the user picked; an unreadable list is logged and counts as empty."""
    return read_config(PICKED_FILE, PickedFiles) or PickedFiles()


def remember_picked(*, models: Iterable[str] = (), adapters: Iterable[str] = ()) -> None:
    """Add files the user just picked in the window (already known ones are skipped)."""
    picked = load_picked()
    added = PickedFiles(
        paths=[*picked.paths, *(p for p in dict.fromkeys(models) if p not in picked.paths)],
        adapters=[*picked.adapters, *(p for p in dict.fromkeys(adapters) if p not in picked.adapters)],
    )
    if added != picked:
        write_config(PICKED_FILE, added)


def mention_old_list(data_dir: Path) -> None:
    """Say once per data folder and run that an older version's list there is ignored; the file is
    the user's and stays where it is."""
    with _told_lock:
        if data_dir in _told or not (data_dir / OLD_PICKED_FILE).is_file():
            return
        _told.add(data_dir)
    log.info("Ignoring %s: models and LoRA adapters added from outside the models folder are now remembered in "
             "%s, not in the data folder; add them again in the window.", data_dir / OLD_PICKED_FILE, config_dir())
