"""EPUB e-books: spine order, book title, heading paths across chapters, and the zip checks."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import load_document
from tests.unit.ingest.samples import BILLION_LAUGHS, chapter, forge_declared_size, write_epub

CHAPTERS = [
    (
        "one.xhtml",
        chapter("Ch 1", "<section><header><h1>Chapter 1</h1></header><p>Once upon a time.</p></section>"),
    ),
    (
        "two.xhtml",
        chapter("Ch 2", "<p>Still chapter one.</p><h1>Chapter 2</h1><h2>The Pump</h2><p>It hums.</p>"),
    ),
]


def test_spine_order_title_and_headings(tmp_path: Path) -> None:
    document = load_document(write_epub(tmp_path / "book.epub", CHAPTERS))
    assert document.kind == "epub"
    assert document.title == "The Pump Book"
    assert [(s.heading, s.text) for s in document.sections] == [
        ("Chapter 1", "Chapter 1\n\nOnce upon a time.\n\nStill chapter one."),
        ("Chapter 2", "Chapter 2"),
        ("Chapter 2 > The Pump", "The Pump\n\nIt hums."),
    ]
    assert "Table of contents entry" not in document.text  # the nav document is not content


def test_spine_order_not_file_order(tmp_path: Path) -> None:
    document = load_document(write_epub(tmp_path / "book.epub", CHAPTERS[::-1]))
    assert document.sections[0].heading is None
    assert document.sections[0].text == "Still chapter one."


def test_entity_declaration_in_a_chapter(tmp_path: Path) -> None:
    evil = [("one.xhtml", BILLION_LAUGHS)]
    with pytest.raises(ParseError, match="XML entity declarations are not allowed"):
        load_document(write_epub(tmp_path / "lol.epub", evil))


def test_drm_protected(tmp_path: Path) -> None:
    encryption = (
        b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"'
        b' xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
        b'<enc:CipherData><enc:CipherReference URI="OEBPS/text/one.xhtml"/></enc:CipherData>'
        b"</enc:EncryptedData></encryption>"
    )
    path = write_epub(tmp_path / "drm.epub", CHAPTERS, extra={"META-INF/encryption.xml": encryption})
    with pytest.raises(ParseError, match="DRM-protected e-book"):
        load_document(path)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.epub"
    path.write_text("<html>not a book</html>")
    with pytest.raises(ParseError, match=r"not a valid EPUB e-book \(not a zip archive\)"):
        load_document(path)


def test_missing_container(tmp_path: Path) -> None:
    path = tmp_path / "bare.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
    with pytest.raises(ParseError, match=r"META-INF/container\.xml is missing"):
        load_document(path)


def test_unsafe_entry_name(tmp_path: Path) -> None:
    path = write_epub(tmp_path / "evil.epub", CHAPTERS, extra={"../../evil.sh": b"rm -rf"})
    with pytest.raises(ParseError, match="unsafe entry name in archive"):
        load_document(path)


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = write_epub(tmp_path / "bomb.epub", CHAPTERS, extra={"OEBPS/zeros.bin": bytes(8 * 2**20)})
    with pytest.raises(ParseError, match="zip bomb: compression ratio too high"):
        load_document(path)


def test_zip_bomb_by_declared_size(tmp_path: Path) -> None:
    path = write_epub(tmp_path / "huge.epub", CHAPTERS, extra={"OEBPS/big.bin": b"tiny"})
    forge_declared_size(path, "OEBPS/big.bin", 0xFFFF0000)
    with pytest.raises(ParseError, match="zip bomb: declared size too large"):
        load_document(path)


def test_too_many_entries(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="too many entries"):
        load_document(write_epub(tmp_path / "b.epub", CHAPTERS), LoadLimits(max_zip_entries=3))


def test_deeply_nested_chapter(tmp_path: Path) -> None:
    deep = [("deep.xhtml", chapter("Deep", "<div>" * 5_000 + "x" + "</div>" * 5_000))]
    with pytest.raises(ParseError, match="nested too deeply"):
        load_document(write_epub(tmp_path / "deep.epub", deep))


def test_book_without_text(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="empty document"):
        load_document(write_epub(tmp_path / "empty.epub", [("c.xhtml", chapter("c", "<img src='x.png'/>"))]))
