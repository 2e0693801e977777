"""Where Hearth keeps things. Computed on demand: nothing is created at import."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"


def data_dir() -> Path:
    """The folder holding all user state; ``HEARTH_HOME`` overrides the platform default."""
    override = os.environ.get("HEARTH_HOME")
    if override:
        return Path(override).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def bundle_root() -> Path:
    """The folder the app runs from: the frozen bundle, or the source checkout."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parents[2]


def models_dir() -> Path:
    """Bundled and user-added models; ``HEARTH_MODELS`` overrides it."""
    override = os.environ.get("HEARTH_MODELS")
    if override:
        return Path(override).expanduser().resolve()
    return bundle_root() / "models"


def resources_dir() -> Path:
    return bundle_root() / "resources"
