"""Fixtures: the real SmolLM2 model (without it, tests fail in CI and skip elsewhere) and a host that loads it
once per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.llm.host import ModelHost
from tests.llm.helpers import GREEDY, MODEL_FILE, MODELS


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = MODELS / MODEL_FILE
    if not path.is_file():
        missing = f"{path} is absent; run `make models` to fetch it"
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI must test the model, never pass by skipping it
        pytest.skip(missing)
    return path


@pytest.fixture(scope="module")
def host(model_path: Path) -> Iterator[ModelHost]:
    model_host = ModelHost()
    model_host.load(model_path, GREEDY, models_dir=MODELS)
    yield model_host
    model_host.close()
