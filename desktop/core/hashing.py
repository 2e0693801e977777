"""Content digests, read in blocks so a large file never sits in memory whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

from desktop.core.userfiles import open_regular


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    """Digest of the file's first ``size`` bytes (as fstat gave it): a pipe or a lying /proc file cannot stall it."""
    digest = hashlib.sha256()
    with open_regular(path) as file:
        for block in file.blocks(chunk_size):
            digest.update(block)
    return digest.hexdigest()
