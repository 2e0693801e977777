"""Vet a DOCX/EPUB zip before any XML parser sees it: bombs, unsafe names and XML entity tricks.

Every check runs on the declared sizes in the central directory first, so a bomb is refused without
inflating it; XML parts are then scanned in bounded pieces (zipfile stops at the declared size).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # password-protected Office files and old .doc
_RATIO_FLOOR = 2**20  # small entries may compress well without being a danger
_PIECE = 2**16
_LEAD = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"  # whitespace, NULs of UTF-16/32 and BOM bytes before the first "<"
_DOCTYPE = "<!doctype"
_ENTITY = "<!entity"
# XML may be UTF-8, UTF-16 or UTF-32; look for the markers in each (pieces are lower-cased first).
_MARKERS = [
    (marker, marker.encode(encoding))
    for marker in (_ENTITY, _DOCTYPE)
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
]
_OVERLAP = max(len(pattern) for _, pattern in _MARKERS) - 1
_UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
)


def open_checked(data: bytes, limits: LoadLimits, *, what: str, allow_doctype: bool) -> zipfile.ZipFile:
    """The archive in ``data``, after every check passed; ``what`` names the format in messages."""
    if data.startswith(_OLE_MAGIC):
        raise ParseError(f"password-protected or old-format file, not a {what}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # zipfile raises many types on garbage
        raise ParseError(f"not a valid {what} (not a zip archive)") from exc
    try:
        _check_directory(archive, limits)
        for info in archive.infolist():
            if not info.is_dir():
                _scan_xml(archive, info, allow_doctype)
    except BaseException:
        archive.close()
        raise
    return archive


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One entry, already vetted by ``open_checked``; damage is reported as a ParseError."""
    try:
        return archive.read(name)
    except _UNREADABLE as exc:
        raise ParseError("damaged archive (an entry cannot be read)") from exc


def _check_directory(archive: zipfile.ZipFile, limits: LoadLimits) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise ParseError("archive has too many entries")
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise ParseError("unsafe entry name in archive")
        if info.flag_bits & 0x1:
            raise ParseError("password-protected archive")
        total += info.file_size
        if total > limits.max_unzipped_bytes:
            raise ParseError("zip bomb: declared size too large")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_FLOOR and ratio > limits.max_zip_ratio:
            raise ParseError("zip bomb: compression ratio too high")


def _unsafe_name(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return name.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:", name)) or ".." in parts


def _scan_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, allow_doctype: bool) -> None:
    """Refuse entity (and for DOCX, any DOCTYPE) declarations in whatever entry is XML."""
    seen = 0
    tail = b""
    looks_xml = False
    try:
        with archive.open(info) as stream:
            while piece := stream.read(_PIECE):
                seen += len(piece)
                if not looks_xml:
                    start = piece.lstrip(_LEAD)[:1]
                    if start and start != b"<":
                        return  # images, fonts and other binary parts
                    looks_xml = start == b"<"
                if seen > info.file_size:  # zipfile should stop at the declared size; never trust it
                    raise ParseError("zip bomb: entry larger than declared")
                window = (tail + piece).lower()
                for marker, pattern in _MARKERS:
                    if pattern in window and (marker == _ENTITY or not allow_doctype):
                        raise ParseError(_refusal(marker))
                tail = window[-_OVERLAP:]
    except _UNREADABLE as exc:
        raise ParseError("damaged archive (an entry cannot be read)") from exc


def _refusal(marker: str) -> str:
    if marker == _ENTITY:
        return "XML entity declarations are not allowed"
    return "XML document type declarations are not allowed"
