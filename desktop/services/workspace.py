"""One data folder opened for use: settings, the registry, and (lazily) vectors and embedder.

A Workspace belongs to the thread that opened it (its SQLite connection does); the settings may be
shared with the folder's other workspaces (``LiveSettings``, see ``desktop/services/home.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core import paths
from desktop.core.backends import vector_place
from desktop.core.errors import StoreError
from desktop.core.live_settings import LiveSettings
from desktop.core.settings import EmbedderRuntime, HearthSettings, load_settings
from desktop.core.types import ChunkDraft
from desktop.store.embedder import Embedder, embedder_folder, load_embedder, runtime_for
from desktop.store.lock import DataFolderLock
from desktop.store.registry import Registry, chunk_id
from desktop.store.vector_host import HostedVectors, VectorHost
from desktop.store.vectors import ServerCollection, VectorStore

SIGNATURE_KEY = "index_signature"
REGISTRY_FILE = Path("index") / "registry.sqlite3"
VECTORS_DIR = Path("index") / "chroma"
LIBRARY_KEY = "library_id"  # names this library's collection on a Chroma server


def registry_path(data_dir: Path) -> Path:
    return data_dir / REGISTRY_FILE


Vectors = VectorStore | HostedVectors


class Workspace:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        settings: HearthSettings | LiveSettings | None = None,
        models_dir: Path | None = None,
        exclusive: bool = False,
        vector_host: VectorHost | None = None,
    ) -> None:
        """``exclusive``: this process will write, so no other process may (see DataFolderLock).
        ``vector_host``: where the embedded vectors are served (None: in this process)."""
        self.data_dir = data_dir or paths.data_dir()
        self.models_dir = models_dir or paths.models_dir()
        if not isinstance(settings, LiveSettings):
            settings = LiveSettings(settings or load_settings(self.data_dir))
        self.live_settings = settings
        self._lock = DataFolderLock(self.data_dir)
        if exclusive:
            self._lock.acquire()
        self.registry = Registry(registry_path(self.data_dir))
        self._vector_host = vector_host
        self._vectors: tuple[dict[str, Any], Vectors] | None = None  # and the backend settings it was opened for
        if exclusive:
            self.settle()  # the first writer after a crash finishes what the crash interrupted

    @property
    def settings(self) -> HearthSettings:
        return self.live_settings.value

    @settings.setter
    def settings(self, settings: HearthSettings) -> None:
        self.live_settings.replace(settings)

    @property
    def vectors(self) -> Vectors:
        """The store the settings name now: when the settings dialog moves the vectors (to a server, back,
        or to another collection), every thread's workspace opens the new store at its next use."""
        place = vector_place(self.settings.backends)
        if self._vectors is None or self._vectors[0] != place:
            self._vectors = (place, self._open_vectors())
        return self._vectors[1]

    def _open_vectors(self) -> Vectors:
        backends = self.settings.backends
        if backends.vector_server is None:
            return self._vector_host.store() if self._vector_host else VectorStore(self.data_dir / VECTORS_DIR)
        library = self.registry.get_meta(LIBRARY_KEY) or uuid.uuid4().hex[:16]
        server = ServerCollection(
            url=backends.vector_server, token=backends.vector_token, name=backends.collection or f"hearth-{library}",
            library=library, timeout_s=backends.timeout_s,
        )
        store = VectorStore(server=server)
        self.registry.set_meta(LIBRARY_KEY, library)  # only once the server took it
        return store

    def check_vectors(self) -> None:
        """Before vectors are written to a server: a collection holding vectors the embedder cannot match
        (filled from a copy of this folder with another embedder, say) is refused, not mixed. An embedded
        store is rebuilt whenever the embedder changes, so its vectors always match."""
        if self.settings.backends.vector_server is None or self.rebuild_needed:
            return  # a rebuild empties the collection first
        stored = self.vectors.dimension()
        if stored is None:
            return
        made = self.embedder.dimension
        if stored != made:
            raise StoreError(
                f"The vectors in {self.vectors.location} have {stored} dimensions but the embedder "
                f"{self.settings.index.embedder} makes {made}: choose another collection (backends.collection)."
            )

    @cached_property
    def embedder_folder(self) -> Path:
        return embedder_folder(self.models_dir, self.settings.index.embedder)

    @cached_property
    def embedder_runtime(self) -> EmbedderRuntime:
        """Resolved once, so the embedder and the signature recorded with its vectors always agree."""
        return runtime_for(self.models_dir, self.settings.index.embedder, self.settings.index.embedder_runtime)

    @cached_property
    def embedder(self) -> Embedder:
        return load_embedder(
            self.models_dir, self.settings.index.embedder, self.embedder_runtime,
            batch_size=self.settings.index.embed_batch_size,
        )

    def index_signature(self) -> dict[str, Any]:
        """The settings' signature, with the runtime the embedder really runs on (torch when ONNX is missing)."""
        return self.settings.index_signature() | {"embedder_runtime": self.embedder_runtime}

    @property
    def rebuild_needed(self) -> bool:
        """The stored vectors were made with other embedder or chunk settings."""
        stored = self.registry.get_meta(SIGNATURE_KEY)
        # A signature from before the ONNX runtime existed names none: those vectors came from torch.
        return stored is not None and {"embedder_runtime": "torch"} | stored != self.index_signature()

    def record_signature(self, signature: dict[str, Any] | None = None) -> None:
        """``signature``: the one a run's passages and vectors were made with (default: the settings' now)."""
        self.registry.set_meta(SIGNATURE_KEY, signature or self.index_signature())

    # -- writes that keep registry and vectors in agreement ----------------------------------
    def store_chunks(self, items: Sequence[tuple[int, str | None, ChunkDraft]], embeddings: np.ndarray) -> None:
        """Journal the ids, write the vectors, then commit the rows (which settles the journal)."""
        ids = [chunk_id(document_id, draft.seq) for document_id, _, draft in items]
        self.registry.journal_add(ids)
        self.vectors.upsert(ids, embeddings, [document_id for document_id, _, _ in items])
        self.registry.add_chunks(items)

    def drop_vectors(self, ids: Sequence[int]) -> None:
        """Delete vectors of chunk rows already deleted (and journaled) by the registry."""
        if ids:
            self.vectors.delete(ids)
            self.registry.journal_clear(ids)

    def reset_vectors(self) -> None:
        self.vectors.reset()

    def settle(self) -> int:
        """After a crash: journaled ids without a chunk row lose their vector. Returns how many."""
        pending = self.registry.journal()
        if not pending:
            return 0
        present = self.registry.chunks(pending)
        orphans = [i for i in pending if i not in present]
        if orphans:
            self.vectors.delete(orphans)
        self.registry.journal_clear(pending)
        return len(orphans)

    def close(self) -> None:
        self.registry.close()
        self._lock.release()
