"""Read a file's bytes safely: regular files only, size checked before reading, errors worded for people."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from desktop.core.errors import ParseError

# O_NONBLOCK: if the path is swapped for a FIFO between stat and open, open must not hang.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The whole file, refused before reading if it is not a regular file or is over ``max_bytes``."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ParseError(_reason(exc, opened=False)) from exc
    _check(info, max_bytes)
    try:
        fd = os.open(path, _OPEN_FLAGS)
        with os.fdopen(fd, "rb") as handle:
            size = _check(os.fstat(handle.fileno()), max_bytes)  # the path may have changed since stat
            # Ask for the size we know (read(n) allocates n bytes up front); one more byte tells if it grew.
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise ParseError(_reason(exc, opened=True)) from exc
    if len(data) > max_bytes:  # grew while we were reading
        raise ParseError(_too_large(max_bytes))
    if not data:
        raise ParseError("empty document")
    return data


def _too_large(max_bytes: int) -> str:
    return f"file is larger than the {_format_size(max_bytes)} limit"


def _format_size(size: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} bytes"


def _check(info: os.stat_result, max_bytes: int) -> int:
    """The file's size, if it is a regular file within the limit."""
    if stat.S_ISDIR(info.st_mode):
        raise ParseError("this is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ParseError("not a regular file (a pipe, socket or device)")
    if info.st_size > max_bytes:
        raise ParseError(_too_large(max_bytes))
    return info.st_size


def _reason(exc: OSError, *, opened: bool) -> str:
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
