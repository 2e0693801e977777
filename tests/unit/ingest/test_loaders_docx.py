"""Word documents: structure, and every check that runs before python-docx sees the zip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import load_document
from tests.unit.ingest.samples import BILLION_LAUGHS, forge_declared_size, rezip, write_docx


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    return write_docx(tmp_path / "manual.docx")


def test_headings_paragraphs_and_tables_in_order(manual: Path) -> None:
    document = load_document(manual)
    assert document.kind == "docx"
    assert document.title == "Pump Manual"
    assert [(s.heading, s.text) for s in document.sections] == [
        (None, "Read this first."),
        ("Install", "Install\n\nUnpack the pump."),
        (
            "Install > On Linux",
            "On Linux\n\nRun the installer as root.\n\nModel | Flow | Power\nP-100 | 40 l/min | 550 W"
            "\n\nAfter the table.",
        ),
        ("Maintenance", "Maintenance\n\nClean the filter monthly."),
    ]


def test_title_falls_back_to_title_style(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Annual Report", level=0)  # the Title style
    document.add_heading("Revenue", level=1)
    document.add_paragraph("Up 4%.")
    document.save(str(tmp_path / "r.docx"))
    loaded = load_document(tmp_path / "r.docx")
    assert loaded.title == "Annual Report"
    assert loaded.sections[-1].heading == "Annual Report > Revenue"


def test_content_controls_are_read(tmp_path: Path, manual: Path) -> None:
    """Templates wrap body text in <w:sdt>; it is body text all the same."""
    with zipfile.ZipFile(manual) as archive:
        xml = archive.read("word/document.xml").decode()
    control = "<w:sdt><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Inside a control.</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    xml = xml.replace("<w:body>", "<w:body>" + control, 1)
    path = rezip(manual, tmp_path / "sdt.docx", replace={"word/document.xml": xml.encode()})
    assert load_document(path).sections[0].text.startswith("Inside a control.")


def test_empty_docx(tmp_path: Path) -> None:
    import docx

    docx.Document().save(str(tmp_path / "empty.docx"))
    with pytest.raises(ParseError, match="empty document"):
        load_document(tmp_path / "empty.docx")


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.docx"
    path.write_text("just some text, renamed")
    with pytest.raises(ParseError, match=r"not a valid Word document \(not a zip archive\)"):
        load_document(path)


def test_password_protected_or_old_word_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(ParseError, match="password-protected or old-format file"):
        load_document(path)


def test_zip_that_is_not_a_word_file(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ParseError, match=r"^not a valid Word document$"):
        load_document(path)


def test_billion_laughs_in_document_xml(tmp_path: Path, manual: Path) -> None:
    path = rezip(manual, tmp_path / "lol.docx", replace={"word/document.xml": BILLION_LAUGHS})
    with pytest.raises(ParseError, match="XML entity declarations are not allowed"):
        load_document(path)


def test_external_dtd_reference(tmp_path: Path, manual: Path) -> None:
    with zipfile.ZipFile(manual) as archive:
        xml = archive.read("word/document.xml")
    declaration, _, rest = xml.partition(b"?>")
    xxe = declaration + b'?><!DOCTYPE w:document SYSTEM "http://attacker.example/x.dtd">' + rest
    path = rezip(manual, tmp_path / "xxe.docx", replace={"word/document.xml": xxe})
    with pytest.raises(ParseError, match="XML document type declarations are not allowed"):
        load_document(path)


def test_entity_declaration_in_utf16_part(tmp_path: Path, manual: Path) -> None:
    """Markers are looked for in every encoding XML allows, not only UTF-8."""
    part = '\ufeff<?xml version="1.0" encoding="UTF-16"?><x><!ENTITY a "b"></x>'.encode("utf-16-le")
    path = rezip(manual, tmp_path / "u16.docx", add={"customXml/item9.xml": part})
    with pytest.raises(ParseError, match="XML entity declarations are not allowed"):
        load_document(path)


def test_doctype_after_a_long_run_of_whitespace(tmp_path: Path, manual: Path) -> None:
    part = b" " * 200_000 + b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    path = rezip(manual, tmp_path / "ws.docx", add={"customXml/item9.xml": part})
    with pytest.raises(ParseError, match="not allowed"):
        load_document(path)


def test_binary_parts_are_not_mistaken_for_xml(tmp_path: Path, manual: Path) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"<!DOCTYPE" * 10  # marker bytes inside a non-XML part are harmless
    path = rezip(manual, tmp_path / "img.docx", add={"word/media/image1.png": image})
    assert load_document(path).title == "Pump Manual"


def test_zip_bomb_by_ratio(tmp_path: Path, manual: Path) -> None:
    zeros = bytes(8 * 2**20)  # deflates about 1000:1
    path = rezip(manual, tmp_path / "bomb.docx", add={"word/media/zeros.bin": zeros})
    with pytest.raises(ParseError, match="zip bomb: compression ratio too high"):
        load_document(path)


def test_zip_bomb_by_declared_size(tmp_path: Path, manual: Path) -> None:
    path = rezip(manual, tmp_path / "huge.docx", add={"word/media/big.bin": b"tiny"})
    forge_declared_size(path, "word/media/big.bin", 0xFFFF0000)  # claims ~4 GB
    with pytest.raises(ParseError, match="zip bomb: declared size too large"):
        load_document(path)


def test_total_unzipped_size_limit(manual: Path) -> None:
    with pytest.raises(ParseError, match="zip bomb: declared size too large"):
        load_document(manual, LoadLimits(max_unzipped_bytes=10_000))


def test_too_many_entries(tmp_path: Path, manual: Path) -> None:
    path = rezip(manual, tmp_path / "many.docx", add={f"word/media/{n}.bin": b"x" for n in range(30)})
    with pytest.raises(ParseError, match="too many entries"):
        load_document(path, LoadLimits(max_zip_entries=20))


@pytest.mark.parametrize("name", ["../evil", "word/../../evil.xml", "/etc/passwd", "C:/evil.txt", "..\\evil"])
def test_unsafe_entry_names(tmp_path: Path, manual: Path, name: str) -> None:
    path = rezip(manual, tmp_path / "evil.docx", add={name: b"boo"})
    with pytest.raises(ParseError, match="unsafe entry name in archive"):
        load_document(path)


def test_entry_larger_than_declared_is_never_inflated(tmp_path: Path, manual: Path) -> None:
    """A header that understates the size: zipfile stops at the declared size and the CRC fails."""
    path = rezip(manual, tmp_path / "liar.docx", add={"word/extra.xml": b"<x>" + b"a" * 100_000 + b"</x>"})
    forge_declared_size(path, "word/extra.xml", 10)
    with pytest.raises(ParseError):
        load_document(path)


def test_checks_and_parse_see_the_same_bytes(manual: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive is read once into memory; python-docx never reopens the path."""
    import docx

    opened: list[object] = []
    real = docx.Document

    def spy(source: object = None) -> object:
        opened.append(source)
        return real(source)  # type: ignore[arg-type]

    monkeypatch.setattr(docx, "Document", spy)
    load_document(manual)
    assert len(opened) == 1 and isinstance(opened[0], io.BytesIO)


def test_title_falls_back_to_first_heading_1(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Background", level=2)
    document.add_heading("Main Topic", level=1)
    document.add_paragraph("Text.")
    document.save(str(tmp_path / "h.docx"))
    assert load_document(tmp_path / "h.docx").title == "Main Topic"
