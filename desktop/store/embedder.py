"""Sentence embeddings from a local model, checked against the manifest: through ONNX Runtime (the
int8 file set-up made from the model, the default) or through sentence-transformers and torch."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from desktop.core.cpu import embedding_threads
from desktop.core.errors import ModelError
from desktop.core.manifest import derived_file, load_manifest, verify_derived, verify_entry
from desktop.core.offline import enforce_offline
from desktop.core.settings import EmbedderRuntime
from desktop.store.onnx_embedder import OnnxEmbedder

log = logging.getLogger("hearth.embedder")


class Embedder(Protocol):
    name: str
    dimension: int
    runtime: EmbedderRuntime

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


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


def runtime_for(models_dir: Path, name: str, wanted: EmbedderRuntime) -> EmbedderRuntime:
    """The runtime the embedder will run on: the wanted one, or torch when set-up made no ONNX file.

    A missing file is set-up not run (or a model the user added): slower, but it works. A damaged
    one is an error (see onnx_file), not a reason to re-embed the whole library with torch."""
    if wanted == "torch":
        return wanted
    derived = load_manifest(models_dir).derived_from(name, "onnx-int8")
    if derived is None or not derived_file(models_dir, derived).exists():
        log.warning(
            "The ONNX embedder for %s is missing in %s: using the slower torch embedder. Run `make models` to "
            "make it (the index is then rebuilt with it, once).", name, models_dir,
        )
        return "torch"
    return wanted


def load_embedder(models_dir: Path, name: str, runtime: EmbedderRuntime, *, batch_size: int) -> Embedder:
    """``runtime``: as runtime_for resolved it, the same the index signature records."""
    folder = embedder_folder(models_dir, name)
    if runtime == "onnx-int8":
        return OnnxEmbedder(onnx_file(models_dir, name), folder)
    return TorchEmbedder(folder, batch_size=batch_size)


def onnx_file(models_dir: Path, name: str) -> Path:
    """The verified ONNX file made from the named embedder."""
    manifest = load_manifest(models_dir)
    derived, source = manifest.derived_from(name, "onnx-int8"), manifest.find(name)
    if derived is None or source is None:
        raise ModelError(f"No ONNX embedder is made from {name}; set index.embedder_runtime to torch.")
    verify_derived(models_dir, derived, source)
    return derived_file(models_dir, derived)


class TorchEmbedder:
    """The model as fetched, through sentence-transformers: the reference the ONNX file is checked against."""

    runtime: EmbedderRuntime = "torch"

    def __init__(self, folder: Path, *, batch_size: int = 64) -> None:
        enforce_offline()
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError(
                "torch is not installed here, so the embedder runs only from its ONNX file: set "
                "index.embedder_runtime to onnx-int8 (from the source, `make models` makes the file if it is missing)."
            ) from None

        self._torch = torch
        self.folder = folder
        self.name = folder.name
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dimension = int(self.model.get_embedding_dimension() or 0)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # torch's thread count holds for the calling thread once set, and the index worker and the
        # search share a process: each call says what it needs.
        self._torch.set_num_threads(embedding_threads(len(texts)))
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
