"""Read a file's bytes safely: regular files only, size checked before reading, errors worded for people."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from desktop.core.errors import ParseError
from desktop.core.userfiles import NOT_REGULAR, describe_os_error, open_regular


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, up to the size fstat gives once it is open; refused if that is over ``max_bytes``.

    A file that grows while it is read is read as it was: the next scan sees its new size.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ParseError(describe_os_error(exc, opened=False)) from exc
    _check(info, max_bytes)  # refused by stat alone, before any open
    try:
        with open_regular(path) as file:
            if file.size > max_bytes:  # the path may have changed since stat
                raise ParseError(_too_large(max_bytes))
            data = file.read()
    except OSError as exc:
        raise ParseError(describe_os_error(exc, opened=True)) from exc
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


def _check(info: os.stat_result, max_bytes: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ParseError("this is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ParseError(NOT_REGULAR)
    if info.st_size > max_bytes:
        raise ParseError(_too_large(max_bytes))
