"""Window size, panel widths and the open conversation, kept per data folder in ``ui.json``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import BaseModel, ValidationError

from desktop.core.private import write_private_text

log = logging.getLogger("hearth.ui")

STATE_FILE = "ui.json"


class UiState(BaseModel):
    geometry: str | None = None  # QMainWindow.saveGeometry(), base64
    splitter: list[int] = []
    sources_visible: bool = True
    conversation: int | None = None


def load_ui_state(data_dir: Path) -> UiState:
    try:
        return UiState.model_validate(json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8")))
    except FileNotFoundError:
        return UiState()
    except (OSError, ValueError, ValidationError) as exc:
        log.warning("Ignoring unreadable %s: %s", STATE_FILE, exc)
        return UiState()


def save_ui_state(data_dir: Path, state: UiState) -> None:
    try:
        write_private_text(data_dir / STATE_FILE, state.model_dump_json(indent=2))
    except OSError as exc:  # a full disk must not stop the window from closing
        log.warning("Could not save %s: %s", STATE_FILE, exc)
