"""The vector host: the embedded store served from a child process, as the window uses it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from desktop.core.errors import StoreError
from desktop.store.vector_host import HostedVectors, VectorHost, VectorMethod, VectorReply
from desktop.store.vectors import VectorStore


@pytest.fixture
def host(tmp_path: Path) -> Iterator[VectorHost]:
    served = VectorHost(tmp_path / "chroma")
    yield served
    served.close()


def _vectors(count: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_hosted_store_answers_as_the_store_in_this_process(host: VectorHost, tmp_path: Path) -> None:
    local, hosted = VectorStore(tmp_path / "local"), host.store()
    vectors = _vectors(60)
    for store in (local, hosted):
        store.upsert(list(range(60)), vectors, [i // 10 for i in range(60)])
        store.delete([0, 1])
    for store in (local, hosted):
        assert store.count() == 58 and store.dimension() == 384
    assert hosted.query(vectors[7], 5) == local.query(vectors[7], 5)
    assert hosted.query(vectors[7], 5, document_ids=[3]) == local.query(vectors[7], 5, document_ids=[3])
    assert hosted.all_ids() == local.all_ids() == set(range(2, 60))
    assert hosted.existing([0, 5, 99]) == {5}
    ids, found = hosted.vectors_by_id([5, 6])
    assert sorted(ids) == [5, 6] and np.allclose(found[ids.index(5)], vectors[5], atol=1e-6)
    assert np.allclose(hosted.vectors([6]), local.vectors([6]))
    for nothing in ([], [999]):  # an empty array crosses too
        assert hosted.vectors(nothing).shape == local.vectors(nothing).shape == (0, 0)
        assert hosted.vectors_by_id(nothing)[0] == []
    hosted.reset()
    assert hosted.count() == 0 and hosted.location == local.location


def test_long_writes_go_a_slice_per_call(host: VectorHost, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call holds the host: between two calls a search from another thread gets its turn, so none
    waits for a whole batch of writes."""
    calls: list[str] = []
    serve = host.call

    def counted(method: VectorMethod, *args: object) -> tuple[VectorReply, np.ndarray]:
        calls.append(method)
        return serve(method, *args)

    monkeypatch.setattr(host, "call", counted)
    hosted = host.store()
    hosted.upsert(list(range(100)), _vectors(100), [0] * 100)
    hosted.delete(list(range(40)))
    assert calls.count("upsert") == 4 and calls.count("delete") == 2  # 32 vectors per call
    assert hosted.count() == 60


def test_a_refused_call_raises_the_stores_own_error_and_the_host_serves_on(host: VectorHost) -> None:
    hosted = host.store()
    hosted.upsert([1], _vectors(1), [1])
    pid = host.pid
    with pytest.raises(Exception, match="dimension"):
        hosted.upsert([2], _vectors(1)[:, :10], [1])
    assert host.pid == pid and hosted.count() == 1


def test_a_killed_host_is_a_clear_error_then_starts_again_with_nothing_lost(host: VectorHost) -> None:
    hosted = host.store()
    hosted.upsert(list(range(20)), _vectors(20), [0] * 20)
    pid = host.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(StoreError, match=r"vector store's process stopped .*starts again"):
        for _ in range(50):  # the kill lands a moment later
            hosted.count()
            time.sleep(0.05)
    assert hosted.count() == 20 and host.pid not in (None, pid)


def test_a_store_that_cannot_open_fails_each_call_and_never_hangs(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    host = VectorHost(blocked)
    try:
        for _ in range(2):
            with pytest.raises(StoreError, match="could not be opened"):
                host.store().count()
            assert host.pid is None
    finally:
        host.close()


def test_close_ends_the_child_and_is_idempotent(host: VectorHost) -> None:
    assert isinstance(host.store(), HostedVectors) and host.pid is None  # nothing starts before a call
    host.store().count()
    pid = host.pid
    assert pid is not None
    host.close()
    host.close()
    assert host.pid is None and not psutil.pid_exists(pid)


def test_a_window_process_indexes_and_searches_without_loading_chroma(tmp_path: Path) -> None:
    """The point of the host: Chroma's native calls (which hold Python's global lock) never run in
    the process that draws the window, whatever its threads index or search."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "quince.md").write_text("# Garden\n\nThe quince tree first bloomed on 14 April.\n")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from desktop.services.home import Home
        from desktop.services.indexing import Indexer
        from desktop.services.retrieval import Retriever

        if __name__ == "__main__":
            home = Home(Path({str(tmp_path / "home")!r}), vectors_in_child=True)
            workspace = home.workspace(writes=True)
            Indexer(workspace).index([Path({str(notes)!r})])
            hits = Retriever(home.workspace()).search("When did the quince bloom?", 3)
            print(Path(hits[0].path).name, "chromadb" in sys.modules)
            workspace.close()
            home.close()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240,
        env=os.environ | {"HEARTH_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["quince.md", "False"]


def test_the_host_does_not_outlive_an_app_that_was_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from desktop.store.vector_host import VectorHost

        if __name__ == "__main__":
            host = VectorHost(Path({str(tmp_path / "chroma")!r}))
            host.store().count()
            print(host.pid, flush=True)
            time.sleep(120)
        """
    )
    app = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        child = psutil.Process(int(app.stdout.readline()))
        app.kill()
        app.wait(30)
        gone, _ = psutil.wait_procs([child], timeout=30)
        assert gone or child.status() == psutil.STATUS_ZOMBIE  # exited; its new parent reaps it
    finally:
        app.kill()
