"""Open a person's file safely: regular files only, never blocking, never reading past the size fstat gave.

A path can change between the walk and the read (a file swapped for a pipe blocks a plain ``open``),
and some files lie about themselves (``/proc/self/pagemap`` says it is an empty regular file, then
streams gigabytes). So every open is non-blocking, the type is checked on the opened descriptor,
and reads stop at the size that descriptor reported. Hashing and loading both open files here.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: a terminal device never becomes ours.
_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
)
NOT_REGULAR = "not a regular file (a pipe, socket or device)"


class NotRegularFile(OSError):
    """The path opened as something other than a regular file; nothing was read from it."""


@dataclass(frozen=True)
class RegularFile:
    handle: BinaryIO
    size: int  # from fstat on the open descriptor: no read goes past it

    def read(self) -> bytes:
        """The first ``size`` bytes (fewer if the file shrank)."""
        return self.handle.read(self.size) if self.size else b""

    def blocks(self, block_size: int = 1 << 20) -> Iterator[bytes]:
        left = self.size
        while left > 0 and (block := self.handle.read(min(block_size, left))):
            left -= len(block)
            yield block


@contextmanager
def open_regular(path: Path) -> Iterator[RegularFile]:
    """Open ``path`` for reading; raises OSError (NotRegularFile for pipes, devices, sockets)."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "this is a folder, not a file", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, NOT_REGULAR, str(path))
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield RegularFile(handle, info.st_size)


def describe_os_error(exc: OSError, *, opened: bool) -> str:
    """``exc`` in a few words for the library; ``opened``: the file had been found (so it vanished)."""
    if isinstance(exc, NotRegularFile):
        return NOT_REGULAR
    if isinstance(exc, FileNotFoundError):
        return "file vanished while reading" if opened else "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "this is a folder, not a file"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name is too long"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links"
    if exc.errno == errno.EIO:
        return "read error (damaged disk or lost network drive?)"
    return "could not read the file"
