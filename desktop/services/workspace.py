"""One data folder opened for use: settings, the registry, and (lazily) vectors and embedder."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from desktop.core import paths
from desktop.core.settings import HearthSettings, load_settings
from desktop.store.embedder import Embedder, embedder_folder
from desktop.store.lock import DataFolderLock
from desktop.store.registry import Registry
from desktop.store.vectors import VectorStore

SIGNATURE_KEY = "index_signature"


class Workspace:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        settings: HearthSettings | None = None,
        models_dir: Path | None = None,
        exclusive: bool = False,
    ) -> None:
        """``exclusive``: this process will write, so no other process may (see DataFolderLock)."""
        self.data_dir = data_dir or paths.data_dir()
        self.models_dir = models_dir or paths.models_dir()
        self.settings = settings or load_settings(self.data_dir)
        self._lock = DataFolderLock(self.data_dir)
        if exclusive:
            self._lock.acquire()
        self.registry = Registry(self.data_dir / "index" / "registry.sqlite3")

    @cached_property
    def vectors(self) -> VectorStore:
        return VectorStore(self.data_dir / "index" / "chroma")

    @cached_property
    def embedder_folder(self) -> Path:
        return embedder_folder(self.models_dir, self.settings.embedder)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.embedder_folder, batch_size=self.settings.embed_batch_size)

    @property
    def rebuild_needed(self) -> bool:
        """The stored vectors were made with other embedder or chunk settings."""
        stored = self.registry.get_meta(SIGNATURE_KEY)
        return stored is not None and stored != self.settings.index_signature()

    def record_signature(self) -> None:
        self.registry.set_meta(SIGNATURE_KEY, self.settings.index_signature())

    def close(self) -> None:
        self.registry.close()
        self._lock.release()
