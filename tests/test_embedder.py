"""The real MiniLM embedder: unit vectors, and threads suited to a question or a batch."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from desktop.core.cpu import physical_cores
from desktop.store.embedder import Embedder


def test_vectors_are_unit_length_and_similar_texts_are_close(embedder: Embedder) -> None:
    vectors = embedder.embed(["Descale the kettle with citric acid.", "Remove limescale from a kettle.",
                              "The treaty was signed in 1648."])
    assert vectors.shape == (3, embedder.dimension) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_a_question_uses_one_thread_and_a_batch_every_core(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The query thread must not keep the batch's thread count, nor pass its own to an index thread.
    seen: list[int] = []
    encode = embedder.model.encode

    def recording(texts: list[str], **options: Any) -> Any:
        seen.append(embedder._torch.get_num_threads())
        return encode(texts, **options)

    monkeypatch.setattr(embedder.model, "encode", recording)

    def index_thread() -> None:
        embedder.embed([f"passage {n}" for n in range(32)])

    embedder.embed(["a short question?"])
    worker = threading.Thread(target=index_thread)
    worker.start()
    worker.join()
    embedder.embed(["another question?"])
    assert seen == [1, physical_cores(), 1]
