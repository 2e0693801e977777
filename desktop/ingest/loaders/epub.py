"""EPUB e-books: container.xml -> OPF package -> spine order, each chapter read like a web page."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XmlSyntaxError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_inline
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.html import HtmlExtractor
from desktop.ingest.loaders.zipcheck import open_checked, read_member

_WHAT = "EPUB e-book"
_CHAPTER_TYPES = frozenset({"application/xhtml+xml", "text/html"})


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    data = read_bytes(path, limits.max_bytes)
    # XHTML chapters commonly carry <!DOCTYPE html>; entity declarations are still refused.
    with open_checked(data, limits, what=_WHAT, allow_doctype=True) as archive:
        names = set(archive.namelist())
        package_path = _package_path(archive)
        package = _xml(archive, package_path)
        chapters = _spine(package, posixpath.dirname(package_path))
        if _encrypted(archive) & set(chapters):
            raise ParseError("DRM-protected e-book")
        extractor = HtmlExtractor(limits)
        for name in chapters:
            if name in names:  # a spine entry without its file: skip it like a reader would
                extractor.feed(read_member(archive, name))
    sections = extractor.sections()
    if not sections:
        raise ParseError("empty document")
    title = clean_inline(_first_text(package, "title")) or extractor.title
    return ExtractedDocument(kind=kind, title=title, sections=sections)


def _xml(archive: zipfile.ZipFile, name: str) -> Element:
    if name not in archive.namelist():
        raise ParseError(f"not a valid {_WHAT} ({name} is missing)")
    try:
        return fromstring(read_member(archive, name), forbid_dtd=False, forbid_entities=True)
    except DefusedXmlException as exc:
        raise ParseError("XML entity declarations are not allowed") from exc
    except XmlSyntaxError as exc:
        raise ParseError(f"not a valid {_WHAT} ({name} is broken)") from exc


def _package_path(archive: zipfile.ZipFile) -> str:
    container = _xml(archive, "META-INF/container.xml")
    for element in container.iter():
        if _local(element.tag) == "rootfile" and element.get("full-path"):
            return unquote(element.get("full-path", "")).lstrip("/")
    raise ParseError(f"not a valid {_WHAT} (no package file)")


def _spine(package: Element, folder: str) -> list[str]:
    """Archive names of the chapters in reading order; the navigation document is left out."""
    manifest = {item.get("id", ""): item for item in package.iter() if _local(item.tag) == "item" and item.get("href")}
    chapters = []
    for ref in package.iter():
        item = manifest.get(ref.get("idref", "")) if _local(ref.tag) == "itemref" else None
        if item is None or item.get("media-type") not in _CHAPTER_TYPES:
            continue
        if "nav" in item.get("properties", "").split():
            continue
        href = unquote(item.get("href", "").split("#")[0])
        chapters.append(posixpath.normpath(posixpath.join(folder, href)))
    return chapters


def _encrypted(archive: zipfile.ZipFile) -> set[str]:
    """Entries listed in META-INF/encryption.xml (fonts are often obfuscated there; text means DRM)."""
    if "META-INF/encryption.xml" not in archive.namelist():
        return set()
    return {
        unquote(element.get("URI", "")).lstrip("/")
        for element in _xml(archive, "META-INF/encryption.xml").iter()
        if _local(element.tag) == "CipherReference"
    }


def _first_text(root: Element, name: str) -> str | None:
    return next((element.text for element in root.iter() if _local(element.tag) == name), None)


def _local(tag: object) -> str:
    """Tag name without its namespace: EPUB 2 and 3 packages differ in prefixes."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""
