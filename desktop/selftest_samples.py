"""The self-test's PDF and DOCX samples, written when the test runs so no binary is committed.

The PDF is written by hand (a few plain-text objects) because its usual writers are not part of
the app; the DOCX comes from python-docx, which the app ships for reading Word files anyway.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

PDF_NAME = "astronomy.pdf"
PDF_PAGES = [
    "Chapter one. The night sky and how to read a star chart.",
    "Chapter two. Saturn's rings are made mostly of water ice particles, with a little rock and dust.",
    "Chapter three. Jupiter's Great Red Spot is a storm larger than Earth.",
]

DOCX_NAME = "recipes.docx"
DOCX_HEADING = "Bread"
DOCX_PARAGRAPHS = [
    "Knead the dough for ten minutes until it is smooth and elastic.",
    "Bake the sourdough loaf at 230 degrees for forty minutes.",
]


def _pdf_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(path: Path, pages: list[str]) -> None:
    """A minimal valid PDF: one Helvetica text block per page (Latin-1 text only)."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, text in enumerate(pages):
        lines = " T* ".join(f"({_pdf_text(line)}) Tj" for line in textwrap.wrap(text, 80))
        stream = f"BT /F1 12 Tf 16 TL 72 720 Td {lines} ET".encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def write_docx(path: Path, heading: str, paragraphs: list[str]) -> None:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))


def write_generated_samples(folder: Path) -> list[Path]:
    """The samples that are not plain text files in resources/samples."""
    pdf, word = folder / PDF_NAME, folder / DOCX_NAME
    write_pdf(pdf, PDF_PAGES)
    write_docx(word, DOCX_HEADING, DOCX_PARAGRAPHS)
    return [pdf, word]
