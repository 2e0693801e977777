"""Nothing runs that shouldn't: no pickle (or torch.load, which unpickles) on anything read from disk."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "desktop"
UNSAFE = re.compile(r"\b(pickle\.loads?|cPickle|dill\.loads?|torch\.load|joblib\.load|shelve\.open|marshal\.loads?)\b")


def test_no_unpickling_in_the_app() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNSAFE.search(line)
    ]
    assert offenders == []


def test_embedder_loads_safetensors_only() -> None:
    from desktop.core.manifest import load_manifest

    entry = load_manifest(PACKAGE.parent / "models").find("all-MiniLM-L6-v2")
    assert entry is not None
    assert not any(name.endswith((".bin", ".pt", ".pkl", ".pickle")) for name in entry.sha256)
