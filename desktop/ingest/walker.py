"""Find the files to index below the paths a user gave.

Ignore patterns apply to names met while walking, never to a path the user named directly.
Directories are remembered by (device, inode), so symlink loops end; FIFOs, sockets and
devices are reported as skipped instead of being opened (opening a FIFO blocks).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute, as the user sees it (symlinks not resolved)
    size: int
    mtime: float


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


def is_ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def walk(
    roots: list[Path],
    *,
    ignore: list[str],
    supported: Callable[[Path], bool],
) -> Iterator[FoundFile | SkippedFile]:
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for root in roots:
        absolute = Path(os.path.abspath(root))
        yield from _visit(absolute, ignore, supported, seen_dirs, seen_files, explicit=True)


def _visit(
    path: Path,
    ignore: list[str],
    supported: Callable[[Path], bool],
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    *,
    explicit: bool,
) -> Iterator[FoundFile | SkippedFile]:
    try:
        info = path.stat()
    except FileNotFoundError:
        if explicit or path.is_symlink():
            yield SkippedFile(str(path), "broken link" if path.is_symlink() else "not found")
        return
    except PermissionError:
        yield SkippedFile(str(path), "permission denied")
        return
    except OSError as exc:
        yield SkippedFile(str(path), f"cannot read ({exc.strerror or exc})")
        return

    if stat.S_ISDIR(info.st_mode):
        key = (info.st_dev, info.st_ino)
        if key in seen_dirs:
            return  # a symlink loop, or the same folder given twice
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(path), key=lambda entry: entry.name)
        except PermissionError:
            yield SkippedFile(str(path), "permission denied")
            return
        except OSError as exc:
            yield SkippedFile(str(path), f"cannot list folder ({exc.strerror or exc})")
            return
        for entry in entries:
            if is_ignored(entry.name, ignore):
                continue
            yield from _visit(Path(entry.path), ignore, supported, seen_dirs, seen_files, explicit=False)
        return

    if not stat.S_ISREG(info.st_mode):
        if explicit or supported(path):
            yield SkippedFile(str(path), "not a regular file (device, pipe or socket)")
        return
    if not supported(path):
        if explicit:
            yield SkippedFile(str(path), f"unsupported file type ({path.suffix or 'no extension'})")
        return
    key = (info.st_dev, info.st_ino)
    if key in seen_files:
        return
    seen_files.add(key)
    yield FoundFile(str(path), info.st_size, info.st_mtime)
