"""The data folder holds the full text of every indexed document, the chats and the logs: only the
user may read it. Folders are made 0700 and files 0600 whatever the umask, and on start whatever an
older version (or a lax umask) left readable by others is tightened. Nothing here runs at import.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

log = logging.getLogger("hearth.private")

PRIVATE_UMASK = 0o077
_SHARED = 0o077  # the group's and everyone else's permission bits
# Elsewhere (Windows) chmod only sets a read-only flag: access is the user profile's ACLs' business.
_ENFORCED = os.name == "posix"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# What Hearth keeps at the top of its data folder. Only these are tightened on start: the folder may
# be one the user chose, and their own files in it are theirs to share.
OWN_ENTRIES = (
    "index", "logs", "conversations.sqlite3*", "hearth.lock", "settings.json", "settings.tmp",
    "models.json", "models.tmp", "crashed_models.json", "crashed_models.tmp", "ui.json", "ui.tmp", "tasks",
)


@contextmanager
def private_umask() -> Iterator[None]:
    """While inside, whatever the process makes (SQLite's -wal and -shm files, Chroma's segments,
    rotated logs) is the user's alone. For the entry points: the app and the CLI run inside it."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def ensure_private_dir(path: Path) -> Path:
    """Make ``path`` and its missing parents as folders only the user can open, whatever the umask."""
    missing = [folder for folder in (path, *path.parents) if not folder.is_dir()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return path


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and user-only if it does not exist; an existing file is left as it is."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def write_private_text(target: Path, text: str, *, temp: Path | None = None) -> None:
    """Replace ``target`` with ``text`` at once and durably (a user-only temporary file, synced, renamed
    over it): the one way Hearth rewrites a small file."""
    write_private_bytes(target, text.encode("utf-8"), temp=temp)


def write_private_bytes(target: Path, data: bytes, *, temp: Path | None = None) -> None:
    """``write_private_text`` for bytes."""
    ensure_private_dir(target.parent)
    temp = temp or target.with_suffix(".tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        if _ENFORCED:
            os.fchmod(descriptor, 0o600)  # a temporary file left over by an older version kept its mode
        handle.write(data)
        handle.flush()
        os.fsync(descriptor)  # the new data is on disk before the rename makes it the file...
    os.replace(temp, target)
    _sync_folder(target.parent)  # ...and the rename itself survives a power cut


def _sync_folder(folder: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; its rename is journaled by NTFS
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def secure_data_dir(data_dir: Path) -> None:
    """On start: the data folder exists and is private, and older files in it are made private
    (said once in the log, since the next start finds nothing left to change)."""
    ensure_private_dir(data_dir)
    changed = make_private(data_dir)
    if changed:
        log.warning("Made the data folder %s private: %d files and folders in it were open to other users.",
                    data_dir, changed)


def make_private(data_dir: Path) -> int:
    """Take group and other permissions off the data folder and everything Hearth keeps in it, never
    through a symbolic link. Each folder is closed before it is listed, so nobody else can swap an
    entry for a link meanwhile. Returns how many files and folders changed."""
    if not _ENFORCED:
        return 0
    changed = _restrict(data_dir, follow=True)  # the folder itself may be a link the user made
    for entry in os.scandir(data_dir):
        if any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in OWN_ENTRIES):
            changed += _restrict_tree(Path(entry.path))
    return changed


def _restrict_tree(top: Path) -> int:
    changed = _restrict(top)
    if top.is_symlink() or not top.is_dir():
        return changed
    for folder, folders, files in os.walk(top):  # top-down, and linked folders are not entered
        for name in (*folders, *files):
            changed += _restrict(Path(folder, name))
    return changed


def _restrict(path: Path, *, follow: bool = False) -> int:
    """Clear the group and other bits of one file or folder; 1 if they were set."""
    try:
        info = path.stat() if follow else path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode) or not mode & _SHARED:
            return 0
        os.chmod(path, mode & ~_SHARED)
    except FileNotFoundError:
        return 0
    except OSError as exc:  # e.g. a file another user owns: said, and the rest is still tightened
        log.warning("Could not make %s private: %s", path, exc)
        return 0
    return 1
