"""Sentence embeddings from a local sentence-transformers model, checked against the manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from desktop.core.cpu import physical_cores
from desktop.core.errors import ModelError
from desktop.core.manifest import load_manifest, verify_entry
from desktop.core.offline import enforce_offline

# A question is a few dozen word-pieces: one thread embeds it as fast as two (the cost is per
# operation, not per token) and leaves the other cores to the keyword search running alongside:
# hybrid search p95 over 100k passages, 61 ms with two threads, 51 with one.
FEW_TEXTS = 4


def embedder_folder(models_dir: Path, name: str) -> Path:
    """The folder of a named embedder; verified when the manifest knows it."""
    manifest = load_manifest(models_dir)
    entry = manifest.find(name)
    if entry is not None:
        if entry.kind != "embedder":
            raise ModelError(f"{name} is not an embedding model.")
        verify_entry(models_dir, entry)
        return models_dir / entry.path
    folder = models_dir / name
    if not (folder / "modules.json").is_file():
        raise ModelError(f"Embedding model {name} was not found in {models_dir}.")
    return folder


class Embedder:
    def __init__(self, folder: Path, *, batch_size: int = 64) -> None:
        enforce_offline()
        import torch
        from sentence_transformers import SentenceTransformer

        self._torch = torch
        self.folder = folder
        self.name = folder.name
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.max_tokens = int(self.model.max_seq_length or 256) - 2  # [CLS] and [SEP]
        self.dimension = int(self.model.get_embedding_dimension() or 0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # torch's thread count holds for the calling thread once set, and the index worker and the
        # search share a process: each call says what it needs.
        self._torch.set_num_threads(1 if len(texts) <= FEW_TEXTS else physical_cores())
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
