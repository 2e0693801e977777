"""How many cores this machine offers to compute-heavy work."""

from __future__ import annotations

import os

import psutil


def physical_cores() -> int:
    """Physical cores: hyper-threads add little to llama.cpp or torch and slow the window."""
    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


# A question is a few dozen word-pieces: one thread embeds it as fast as two (the cost is per
# operation, not per token) and leaves the other cores to the keyword search running alongside:
# hybrid search p95 over 100k passages, 61 ms with two threads, 51 with one.
FEW_TEXTS = 4


def embedding_threads(texts: int) -> int:
    """Threads to embed this many texts with: one for a question, every physical core for a batch."""
    return 1 if texts <= FEW_TEXTS else physical_cores()
