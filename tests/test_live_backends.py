"""Backends changed while Hearth runs (the settings dialog): every workspace opens the vector store the
settings now name at its next use, never the one it opened before."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.errors import StoreError
from desktop.core.live_settings import LiveSettings
from desktop.core.settings import HearthSettings
from desktop.services.workspace import Workspace
from tests.conftest import MODELS
from tests.servers import free_port


def test_a_workspace_follows_the_vector_backend_the_live_settings_name(hearth_home: Path) -> None:
    live = LiveSettings(HearthSettings())
    workspace = Workspace(hearth_home, settings=live, models_dir=MODELS)
    try:
        embedded = workspace.vectors
        assert workspace.vectors is embedded  # opened once while the settings stay
        closed = f"http://127.0.0.1:{free_port()}"
        live.replace(live.value.updated(backends={"vector_server": closed}))
        with pytest.raises(StoreError, match="Cannot reach the Chroma server"):
            _ = workspace.vectors  # the server now named, not the embedded store kept from before
        live.replace(live.value.updated(backends={"vector_server": None}))
        assert workspace.vectors.location == "this computer"
    finally:
        workspace.close()
