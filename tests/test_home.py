"""One data folder opened once: every workspace of it reads the same live settings."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.core.settings import HearthSettings, RetrievalSettings
from desktop.services.home import Home
from tests.conftest import MODELS


def test_every_workspace_of_a_folder_reads_the_one_live_copy_of_its_settings(tmp_path: Path) -> None:
    home = Home(tmp_path, models_dir=MODELS, settings=HearthSettings(retrieval=RetrievalSettings(top_k=5)))
    indexing, answering = home.workspace(), home.workspace()
    heard: list[int] = []
    home.settings.subscribe(lambda settings: heard.append(settings.retrieval.top_k))

    home.settings.replace(home.settings.value.updated(retrieval={"top_k": 3}))  # this run only
    assert indexing.settings.retrieval.top_k == answering.settings.retrieval.top_k == 3 and heard == [3]
    assert not (tmp_path / "settings.json").exists()

    home.save_settings(home.settings.value.updated(retrieval={"top_k": 9}))
    assert answering.settings.retrieval.top_k == 9 and heard == [3, 9]
    assert json.loads((tmp_path / "settings.json").read_text()) == {"retrieval": {"top_k": 9}}
    indexing.close()
    answering.close()
