"""Small real documents written by the tests: text, Markdown, HTML, PDF and DOCX."""

from __future__ import annotations

from pathlib import Path

GARDEN = """# Garden notes

## Tomatoes

Tomatoes need full sun and deep watering twice a week. The variety Brandywine-7731 ripens late.

## Compost

Turn the compost heap every fortnight so that it stays aerobic and does not smell.
"""

KETTLE = """The Brewmaster kettle manual.

Descale the kettle monthly with citric acid. Error code KX-409 means the heating element overheated:
unplug it and let it cool for ten minutes before trying again.
"""

HTML = """<!doctype html><html><head><title>Bicycle care</title><script>var tracking = 1;</script></head>
<body><nav>Home | About</nav><h1>Bicycle care</h1>
<p>Keep the chain clean and lubricated. Check tyre pressure every week; 80 psi suits road tyres.</p>
<h2>Brakes</h2><p>Replace brake pads when the groove is worn away.</p></body></html>
"""


def write_pdf(path: Path, pages: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))


def write_docx(path: Path, heading: str, paragraphs: list[str]) -> None:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))


def write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garden.md").write_text(GARDEN, encoding="utf-8")
    (folder / "kettle.txt").write_text(KETTLE, encoding="utf-8")
    (folder / "bicycle.html").write_text(HTML, encoding="utf-8")
    write_pdf(folder / "astronomy.pdf", [
        "Chapter one. The night sky and how to read a star chart.",
        "Chapter two. Saturn's rings are made mostly of water ice particles.",
        "Chapter three. Jupiter's Great Red Spot is a storm larger than Earth.",
    ])
    write_docx(folder / "recipes.docx", "Bread", [
        "Knead the dough for ten minutes until it is smooth and elastic.",
        "Bake the sourdough loaf at 230 degrees for forty minutes.",
    ])
