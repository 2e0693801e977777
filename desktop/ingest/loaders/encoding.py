"""Turn the bytes of a text file into str: BOM, then UTF-8, then a declared or guessed legacy encoding.

Binary content is refused here, so a renamed image or archive never reaches the index as garbage.
"""

from __future__ import annotations

import codecs
import re

from desktop.core.errors import ParseError

BINARY = "binary content, not text"

# Longest first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels that browsers treat as windows-1252 (WHATWG Encoding): its superset, with € and curly quotes.
_CP1252_LABELS = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252"})
# Control characters that do not occur in text (tab, newlines, form feed and ESC of ANSI colours do).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_SAMPLE = 65_536
_ASCII_BYTES = bytes(range(128))
# Signs that cp1252 is the wrong guess: words made only of accented letters (Cyrillic, Greek, ...),
# a Latin-1 symbol inside a word (Polish in cp1250), or Icelandic letters standing for Turkish ones.
_NOT_WESTERN = re.compile(
    "[\u00c0-\u00ff]{4,}|[A-Za-z][\u00a1-\u00bf\u00d7\u00f7][A-Za-z]|[\u00d0\u00de\u00f0\u00fe\u00dd\u00fd]"
)
_ASCII_LETTER = re.compile("[A-Za-z]")
_LATIN1_LETTER = re.compile("[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]")


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode ``data``; ``declared`` is an encoding named by the file itself (HTML meta, XML declaration)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")  # a BOM is a clear statement
            break
    else:
        text = _decode_without_bom(data, declared)
    sample = text[:_SAMPLE]
    if "\x00" in text or len(_CONTROL.findall(sample)) > len(sample) // 10:
        raise ParseError(BINARY)
    return text


def _decode_without_bom(data: bytes, declared: str | None) -> str:
    if b"\x00" in data:
        encoding = _utf16_without_bom(data)
        if encoding is None:
            raise ParseError(BINARY)
        return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for attempt in (_declared, _mostly_utf8, _western, _guessed):
        text = attempt(data, declared)
        if text is not None:
            return text
    raise ParseError(BINARY)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 of mostly ASCII text has a NUL in every other byte; binary data does not."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if odd >= pairs * 0.4 and even <= pairs * 0.05:
        return "utf-16-le"
    if even >= pairs * 0.4 and odd <= pairs * 0.05:
        return "utf-16-be"
    return None


def _declared(data: bytes, declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        return None
    if name in _CP1252_LABELS:
        name = "cp1252"
    if name.startswith(("utf-16", "utf-32")):  # without a BOM such a declaration is wrong (WHATWG)
        return None
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        return None


def _mostly_utf8(data: bytes, _declared: str | None) -> str | None:
    """UTF-8 with a few broken bytes (a file cut mid-character, one stray Latin-1 byte) is still UTF-8."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    ascii_bytes = len(data) - len(data.translate(None, _ASCII_BYTES))
    fine = len(text) - ascii_bytes - broken
    return text if fine > 0 and broken <= max(1, fine // 20) else None


def _western(data: bytes, _declared: str | None) -> str | None:
    """cp1252, when the result reads like a Western European language: the usual legacy text file.

    Statistical detectors confuse cp1252 with cp1250 and friends on short texts ("naïve" -> "naďve").
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    sample = text[:_SAMPLE]
    if _NOT_WESTERN.search(sample):
        return None
    accented = len(_LATIN1_LETTER.findall(sample))
    return text if accented * 3 <= len(_ASCII_LETTER.findall(sample)) + 1 else None


def _guessed(data: bytes, _declared: str | None) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return None if best is None else str(best)
