"""Build real sample files for the loader tests: PDFs, Word documents, EPUBs and crafted zips."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>\n"
)


def write_pdf(path: Path, pages: list[str], *, title: str | None = None, password: str | None = None) -> Path:
    """One page per string; an empty string makes a page without text."""
    from fpdf import FPDF

    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text)
    if password:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    pdf.output(str(path))
    return path


def write_image_pdf(path: Path) -> Path:
    """A 'scanned' PDF: a picture of a page, no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (200, 100), "white")
    ImageDraw.Draw(image).text((10, 40), "scanned words", fill="black")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=150)
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """A manual with a Title, nested headings, body text and a table between paragraphs."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Pump Manual"
    document.add_paragraph("Read this first.")
    document.add_heading("Install", level=1)
    document.add_paragraph("Unpack the pump.")
    document.add_heading("On Linux", level=2)
    document.add_paragraph("Run the installer as root.")
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(table.rows, (("Model", "Flow", "Power"), ("P-100", "40 l/min", "550 W")), strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("After the table.")
    document.add_heading("Maintenance", level=1)
    document.add_paragraph("Clean the filter monthly.")
    document.save(str(path))
    return path


def rezip(
    source: Path,
    target: Path,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy a zip, swapping or adding entries (deflated)."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, data in add.items():
            new.writestr(name, data)
    return target


def forge_declared_size(path: Path, name: str, size: int) -> None:
    """Make the central directory claim ``size`` uncompressed bytes for ``name`` (a classic bomb header)."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    position = 0
    while (position := data.find(b"PK\x01\x02", position)) != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46 : position + 46 + name_length]) == encoded:
            struct.pack_into("<I", data, position + 24, size)
            path.write_bytes(bytes(data))
            return
        position += 4
    raise AssertionError(f"{name} not in {path}")


CONTAINER = b"""<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def chapter(title: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    ).encode()


def write_epub(
    path: Path,
    chapters: list[tuple[str, bytes]],
    *,
    title: str = "The Pump Book",
    extra: dict[str, bytes] | None = None,
    nav: bool = True,
) -> Path:
    """An EPUB 3 whose spine lists ``chapters`` (file name, XHTML) in order, plus a nav document."""
    items = [
        f'<item id="c{n}" href="text/{name}" media-type="application/xhtml+xml"/>'
        for n, (name, _) in enumerate(chapters)
    ]
    refs = [f'<itemref idref="c{n}"/>' for n in range(len(chapters))]
    if nav:
        items.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
        refs.insert(0, '<itemref idref="nav"/>')
    opf = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:test</dc:identifier><dc:title>{title}</dc:title></metadata>'
        f"<manifest>{''.join(items)}</manifest><spine>{''.join(refs)}</spine></package>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("OEBPS/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
        if nav:
            archive.writestr(
                "OEBPS/nav.xhtml",
                chapter("Contents", '<nav epub:type="toc"><ol><li>Table of contents entry</li></ol></nav>'),
            )
        for name, xhtml in chapters:
            archive.writestr(f"OEBPS/text/{name}", xhtml, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(buffer.getvalue())
    return path
