"""create_note: a Markdown file in the notes folder, and nowhere else.

The title becomes the file name, so it is checked as one: no separators, no "..", no leading dot,
no control characters, no name Windows reserves (CON, NUL, COM1...). The file is created, never
replaced (an existing name gets " (2)"), with O_EXCL and O_NOFOLLOW, and only after checking that
its folder really is the notes folder, so neither a title nor a link can write elsewhere.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path, PurePath

from desktop.core.errors import UsageError

MAX_TITLE = 80
MAX_TEXT = 20_000
MAX_SAME_NAME = 100

# Folders the system owns: notes written there would mix with its files (and need rights Hearth should not
# use). A folder inside the person's home is never one, wherever the home is (/var/home on some systems).
_SYSTEM_FOLDERS = (
    ("C:\\Windows", "C:\\Program Files", "C:\\Program Files (x86)", "C:\\ProgramData") if sys.platform == "win32"
    else ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc", "/sbin", "/snap",
          "/sys", "/usr", "/var", "/System", "/Library", "/Applications", "/private/etc",
          "/private/var")
)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


class NoteError(UsageError):
    """A note that cannot be written as asked."""


def checked_title(title: str) -> str:
    """The title as a file name stem, or NoteError saying why it cannot be one."""
    title = " ".join(title.split())
    if not title:
        raise NoteError("the note needs a title")
    if len(title) > MAX_TITLE:
        raise NoteError(f"the title is longer than {MAX_TITLE} characters")
    if _FORBIDDEN.search(title) or ".." in title:
        raise NoteError('the title cannot contain / \\ : * ? " < > | or ".."')
    if title.startswith(".") or title.endswith("."):
        raise NoteError("the title cannot start or end with a dot")
    if title.split(".")[0].strip().lower() in _RESERVED:
        raise NoteError(f"'{title}' is a name the system reserves")
    return title


def check_notes_folder(folder: Path) -> None:
    """A folder chosen for notes: a folder that exists, that Hearth may write in, and not one of the
    system's own (or the disk's top). Raises NoteError saying which."""
    if not folder.is_absolute():
        raise NoteError("give the full path of a folder")
    real = folder.resolve()
    if not real.is_dir():
        raise NoteError(f"{folder} is not a folder that exists: create it first, or choose another")
    system = real.parent == real or any(real.is_relative_to(PurePath(owned)) for owned in _SYSTEM_FOLDERS)
    if system and not real.is_relative_to(Path.home().resolve()):
        raise NoteError(f"{folder} is a system folder: choose one of your own, like {Path.home() / 'Notes'}")
    if not os.access(real, os.W_OK | os.X_OK):
        raise NoteError(f"{folder} is not writable: choose a folder you can write in")


def write_note(folder: Path, title: str, text: str) -> Path:
    """Create ``folder/<title>.md`` (or ``<title> (2).md``...) holding ``text``; returns its path."""
    stem = checked_title(title)
    if len(text) > MAX_TEXT:
        raise NoteError(f"the note is longer than {MAX_TEXT} characters")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    real = folder.resolve(strict=True)
    if not real.is_dir():
        raise NoteError("the notes folder is not a folder")
    body = f"# {stem}\n\n{text.strip()}\n".encode()
    for n in range(1, MAX_SAME_NAME + 1):
        target = real / (f"{stem}.md" if n == 1 else f"{stem} ({n}).md")
        if target.parent != real:  # cannot happen with a checked title; never write elsewhere if it did
            raise NoteError("the note would be outside the notes folder")
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise NoteError(f"the note could not be written: {exc.strerror or exc}") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
        return target
    raise NoteError(f"there are already {MAX_SAME_NAME} notes called '{stem}'")
