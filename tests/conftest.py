"""Every test gets its own data folder; real models are loaded once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The real Chroma and model servers of the `remote` tests (started only by the tests that ask for them).
pytest_plugins = ["tests.servers"]

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never the real user data folder, nor the real config folder (the data folder's location and the
    files picked in the window): platformdirs reads XDG_CONFIG_HOME on each call, and subprocesses inherit it."""
    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in [n for n in os.environ if n.startswith("HEARTH_") and n not in ("HEARTH_HOME", "HEARTH_MODELS")]:
        monkeypatch.delenv(name)
    return home


@pytest.fixture(scope="session")
def embedder_folder() -> Path:
    from desktop.store.embedder import embedder_folder

    return embedder_folder(MODELS, "all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def embedder(embedder_folder: Path):  # type: ignore[no-untyped-def]
    """The embedder the app runs by default: the int8 ONNX file set-up made (torch if it is missing)."""
    from desktop.store.embedder import load_embedder, runtime_for

    runtime = runtime_for(MODELS, embedder_folder.name, "onnx-int8")
    return load_embedder(MODELS, embedder_folder.name, runtime, batch_size=16)


@pytest.fixture(scope="session")
def torch_embedder(embedder_folder: Path):  # type: ignore[no-untyped-def]
    """The model as fetched, through sentence-transformers: the reference."""
    from desktop.store.embedder import TorchEmbedder

    return TorchEmbedder(embedder_folder)


@pytest.fixture
def workspace(hearth_home: Path, embedder):  # type: ignore[no-untyped-def]
    from desktop.services.workspace import Workspace

    ws = Workspace(hearth_home, models_dir=MODELS)
    ws.embedder = embedder  # share the session's model instead of loading it again
    yield ws
    ws.close()


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, embedder) -> None:  # type: ignore[no-untyped-def]
    """`desktop.cli.main` runs commands in this process, sharing the session's embedder."""
    from desktop import cli
    from desktop.services.home import Home
    from desktop.services.workspace import Workspace

    def make(*, writes: bool = False) -> Workspace:
        ws = Home().workspace(writes=writes)
        ws.embedder = embedder
        return ws

    monkeypatch.setattr(cli, "_workspace", make)


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Path]:
    from tests.samples import write_corpus

    folder = tmp_path / "corpus"
    write_corpus(folder)
    yield folder
