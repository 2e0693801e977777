from __future__ import annotations

import threading
from pathlib import Path

from desktop.store.vectors import VectorStore


def test_threads_opening_one_embedded_folder_at_once_all_get_a_store(tmp_path: Path) -> None:
    """Chroma makes the system a folder's clients share without a lock; the window's threads open one
    folder at the same moment (the indexer's first write, the engine's start)."""
    folder = tmp_path / "chroma"
    start = threading.Barrier(6)
    failures: list[BaseException] = []
    stores: list[VectorStore] = []

    def open_store() -> None:
        start.wait()
        try:
            stores.append(VectorStore(folder))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures
    assert len(stores) == 6 and all(store.count() == 0 for store in stores)
