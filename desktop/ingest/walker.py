"""Find the files to index below the paths a user gave.

Ignore patterns apply to names met while walking, never to a path the user named directly.
Directories are remembered by (device, inode), so symlink loops end; FIFOs, sockets and
devices are reported as skipped instead of being opened (opening a FIFO blocks). The walk keeps
its own stack and goes at most MAX_DEPTH folders down, so no tree can exhaust Python's recursion.
A link met while walking is followed only if it leads to somewhere inside a folder the user gave
(a link in ~/Notes to ~/.ssh/id_ed25519 must not make the key searchable), unless ``follow_links``;
a path the user named directly is always taken, link or not.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 64  # folders below a root; deeper ones are reported, the rest of the tree is indexed
TOO_DEEP = f"folder nested more than {MAX_DEPTH} levels deep"
LEAVES_ROOT = "link leaves the indexed folder"
SPECIAL = "not a regular file (device, pipe or socket)"


@dataclass(frozen=True)
class FoundFile:
    path: str  # absolute, as the user sees it (symlinks not resolved)
    size: int
    mtime: float


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str
    excluded: bool = False  # left out by a rule, not an error: whatever was indexed there must go


def is_ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def walk(
    roots: list[Path],
    *,
    ignore: list[str],
    supported: Callable[[Path], bool],
    within: Sequence[Path] = (),
    follow_links: bool = False,
) -> Iterator[FoundFile | SkippedFile]:
    """Files below ``roots``; links may also lead into ``within`` (the other folders of the library)."""
    absolute = [Path(os.path.abspath(root)) for root in roots]
    walker = _Walker(ignore, supported, [*absolute, *within], follow_links)
    for root in absolute:
        yield from walker.walk(root)


class _Walker:
    def __init__(
        self, ignore: list[str], supported: Callable[[Path], bool], bounds: Sequence[Path], follow_links: bool
    ) -> None:
        self.ignore = ignore
        self.supported = supported
        # Where links may lead: every folder given, as the kernel resolves it (a root may be a link itself).
        self.bounds = [os.path.realpath(bound) for bound in bounds]
        self.follow_links = follow_links
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[tuple[int, int]] = set()

    def walk(self, root: Path) -> Iterator[FoundFile | SkippedFile]:
        pending: list[tuple[Path, int]] = [(root, 0)]  # a stack, so the order is that of a recursive walk
        while pending:
            path, depth = pending.pop()
            yield from self._visit(path, depth, pending)

    def _visit(self, path: Path, depth: int, pending: list[tuple[Path, int]]) -> Iterator[FoundFile | SkippedFile]:
        explicit = depth == 0
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
            if self._leaves_bounds(path, explicit):
                yield SkippedFile(str(path), LEAVES_ROOT, excluded=True)
            elif depth > MAX_DEPTH:
                yield SkippedFile(str(path), TOO_DEEP)
            else:
                yield from self._list(path, info, depth, pending)
            return

        if not stat.S_ISREG(info.st_mode):
            if explicit or self.supported(path):
                yield SkippedFile(str(path), SPECIAL)
            return
        if not self.supported(path):
            if explicit:
                yield SkippedFile(str(path), f"unsupported file type ({path.suffix or 'no extension'})")
            return
        if self._leaves_bounds(path, explicit):
            yield SkippedFile(str(path), LEAVES_ROOT, excluded=True)
            return
        key = (info.st_dev, info.st_ino)
        if key in self.seen_files:
            return
        self.seen_files.add(key)
        yield FoundFile(str(path), info.st_size, info.st_mtime)

    def _list(
        self, path: Path, info: os.stat_result, depth: int, pending: list[tuple[Path, int]]
    ) -> Iterator[SkippedFile]:
        key = (info.st_dev, info.st_ino)
        if key in self.seen_dirs:
            return  # a symlink loop, or the same folder given twice
        self.seen_dirs.add(key)
        try:
            with os.scandir(path) as entries:
                names = sorted(entry.name for entry in entries)
        except PermissionError:
            yield SkippedFile(str(path), "permission denied")
            return
        except OSError as exc:
            yield SkippedFile(str(path), f"cannot list folder ({exc.strerror or exc})")
            return
        kept = [name for name in names if not is_ignored(name, self.ignore)]
        pending.extend((path / name, depth + 1) for name in reversed(kept))

    def _leaves_bounds(self, path: Path, explicit: bool) -> bool:
        """A link met while walking whose target lies outside every folder given."""
        if explicit or self.follow_links or not path.is_symlink():
            return False
        target = os.path.realpath(path)
        return not any(target == bound or target.startswith(bound.rstrip(os.sep) + os.sep) for bound in self.bounds)
