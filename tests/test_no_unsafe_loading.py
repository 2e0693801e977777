"""Nothing runs that shouldn't: no pickle (or torch.load, which unpickles) on anything read from disk or
received from a parse worker or the vector host."""

from __future__ import annotations

import contextlib
import os
import pickle
import re
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # spawned workers import this module: keep it light
    from desktop.services.workspace import Workspace

PACKAGE = Path(__file__).resolve().parents[1] / "desktop"
UNSAFE = re.compile(r"\b(pickle\.loads?|cPickle|dill\.loads?|torch\.load|joblib\.load|shelve\.open|marshal\.loads?)\b")


def test_no_unpickling_in_the_app() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNSAFE.search(line)
    ]
    assert offenders == []


def test_embedder_loads_safetensors_only() -> None:
    from desktop.core.manifest import load_manifest

    entry = load_manifest(PACKAGE.parent / "models").find("all-MiniLM-L6-v2")
    assert entry is not None
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".pickle")) for name in entry.sha256)


# -- what parse workers send back ------------------------------------------------------------------

MARKER = "TEST_PAYLOAD_MARKER"


class _Payload:
    """Unpickling this runs ``os.mkdir(marker)``: proof that the app executed what a worker sent."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[str], None], tuple[str]]:
        return os.mkdir, (self.marker,)


def _hijacked_worker(connection: Connection, _config: object) -> None:
    """A parse worker a hostile file has taken over: its reply is a pickle that runs code when loaded."""
    connection.send_bytes(pickle.dumps(_Payload(os.environ[MARKER])))


def test_app_never_unpickles_what_a_parse_worker_sends(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop.ingest.parsing as parsing
    from desktop.services.indexing import Indexer

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER, str(marker))  # the spawned workers inherit it
    monkeypatch.setattr(parsing, "_worker_main", _hijacked_worker)
    note = tmp_path / "notes" / "garden.md"
    note.parent.mkdir()
    note.write_text("# Garden\n\nTomatoes need full sun.\n", encoding="utf-8")

    report = Indexer(workspace).index([note.parent])

    assert not marker.exists()  # the payload was never unpickled
    assert [failed.path for failed in report.failed] == [str(note)]  # the file is reported, not lost


def _hijacked_vector_host(connection: Connection, _path: str) -> None:
    """A vector host taken over (say, by a crafted index file in a data folder someone sent): it answers
    with a pickle that runs code when loaded, then waits for the app to hang up."""
    connection.send_bytes(pickle.dumps(_Payload(os.environ[MARKER])))
    with contextlib.suppress(EOFError, OSError):
        connection.recv_bytes()


def test_app_never_unpickles_what_the_vector_host_sends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop.store.vector_host as vector_host
    from desktop.core.errors import StoreError

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER, str(marker))
    monkeypatch.setattr(vector_host, "serve", _hijacked_vector_host)
    host = vector_host.VectorHost(tmp_path / "chroma")
    try:
        with pytest.raises(StoreError, match="vector store's process stopped"):
            host.store().count()
    finally:
        host.close()
    assert not marker.exists()
