"""Sentence embeddings from a local sentence-transformers model, checked against the manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from desktop.core.errors import ModelError
from desktop.core.manifest import load_manifest, verify_entry
from desktop.core.offline import enforce_offline


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
        from sentence_transformers import SentenceTransformer

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
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
