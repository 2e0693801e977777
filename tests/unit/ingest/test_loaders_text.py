"""Plain text, code, Markdown, reStructuredText, Org and CSV: decoding, cleaning and heading sections."""

from __future__ import annotations

import codecs
import contextlib
from pathlib import Path

import pytest

from desktop.core.errors import ParseError
from desktop.ingest.loaders import load_document

FRENCH = "Le café était naïf.\n\nÇa coûte 5 € à Noël."


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "data",
    [
        FRENCH.encode("utf-8"),
        codecs.BOM_UTF8 + FRENCH.encode("utf-8"),
        codecs.BOM_UTF16_LE + FRENCH.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + FRENCH.encode("utf-16-be"),
        codecs.BOM_UTF32_LE + FRENCH.encode("utf-32-le"),
        FRENCH.encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "cp1252"],
)
def test_encodings_decode_right(tmp_path: Path, data: bytes) -> None:
    document = load_document(_write(tmp_path, "notes.txt", data))
    assert document.kind == "text"
    assert document.text == FRENCH


@pytest.mark.parametrize("word", ["café", "naïve", "€", "Grüße aus Köln", "“quoted” – dash"])
def test_short_cp1252_words(tmp_path: Path, word: str) -> None:
    """Statistical guessers get these wrong (cp1250 'naďve', EBCDIC '€'); they must read as written."""
    assert load_document(_write(tmp_path, "w.txt", word.encode("cp1252"))).text == word


def test_latin1_file(tmp_path: Path) -> None:
    text = "Señor Muñoz, façade déjà vu."
    assert load_document(_write(tmp_path, "l.txt", text.encode("latin-1"))).text == text


def test_utf16_without_bom(tmp_path: Path) -> None:
    text = "Notes exported by an old tool.\nSecond line."
    assert load_document(_write(tmp_path, "u.txt", text.encode("utf-16-le"))).text == text


def test_cyrillic_legacy_encoding_is_not_read_as_cp1252(tmp_path: Path) -> None:
    text = "Привет, как дела? Это длинный русский текст для проверки кодировки файла."
    assert load_document(_write(tmp_path, "ru.txt", text.encode("cp1251"))).text == text


def test_utf8_with_a_truncated_last_character(tmp_path: Path) -> None:
    data = "Crème brûlée, déjà vu, naïve café.".encode() + "é".encode()[:1]
    assert load_document(_write(tmp_path, "cut.txt", data)).text.startswith("Crème brûlée, déjà vu")


def test_nul_bytes_mean_binary(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="binary content, not text"):
        load_document(_write(tmp_path, "fake.txt", b"hello\x00world" * 10))


def test_control_characters_mean_binary(tmp_path: Path) -> None:
    data = bytes(range(1, 9)) * 50 + b"some text"
    with pytest.raises(ParseError, match="binary content, not text"):
        load_document(_write(tmp_path, "fake.md", data))


def test_png_renamed_to_txt(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(ParseError, match="binary content, not text"):
        load_document(_write(tmp_path, "image.txt", data))


def test_cleaning(tmp_path: Path) -> None:
    raw = (
        "Title\r\n\r\n\r\n\r\nA   line\twith  \x07bell\x1b[31m red\x1b[0m\u00a0and\u200b"
        " soft\u00adhyphen  \r\nnext\x0cpage"
    )
    document = load_document(_write(tmp_path, "c.log", raw))
    assert document.text == "Title\n\nA line\twith bell red and softhyphen\nnext\n\npage"
    assert document.sections[0].heading is None and document.sections[0].page is None


def test_code_keeps_indentation(tmp_path: Path) -> None:
    source = "def f(x):\n    if x:\n        return   1\n\n\n\n    return 2\n"
    document = load_document(_write(tmp_path, "m.py", source))
    assert document.kind == "code"
    assert document.text == "def f(x):\n    if x:\n        return 1\n\n    return 2"
    assert len(document.sections) == 1


def test_config_file(tmp_path: Path) -> None:
    document = load_document(_write(tmp_path, "s.yaml", "server:\n  port: 8080\n"))
    assert document.kind == "config"
    assert document.text == "server:\n  port: 8080"


MARKDOWN = """---
layout: post
---
Intro text.

# Install

Get it.

## On Linux

```bash
# not a heading
apt install pump
```

Linux steps.

Setext Heading
--------------

Under setext.

### Deep `code` and [link](http://x)

Deep text.

# Usage #

Use it.
"""


def test_markdown_sections(tmp_path: Path) -> None:
    document = load_document(_write(tmp_path, "guide.md", MARKDOWN))
    assert document.kind == "markdown"
    assert document.title == "Install"
    headings = [section.heading for section in document.sections]
    assert headings == [
        None,
        "Install",
        "Install > On Linux",
        "Install > Setext Heading",
        "Install > Setext Heading > Deep code and link",
        "Usage",
    ]
    linux = document.sections[2].text
    assert linux.startswith("On Linux\n\n")
    assert "# not a heading" in linux and "Linux steps." in linux
    assert document.sections[4].text == "Deep code and link\n\nDeep text."
    assert document.sections[0].text.endswith("Intro text.")


RST = """Pump Guide
==========

Intro.

Install
-------

Get it.

Linux
~~~~~

Steps.

Usage
-----

Use it::

    code sample
    ===========
"""


def test_rst_sections(tmp_path: Path) -> None:
    document = load_document(_write(tmp_path, "guide.rst", RST))
    assert document.kind == "rst"
    assert document.title == "Pump Guide"
    headings = [section.heading for section in document.sections]
    assert headings == [
        "Pump Guide",
        "Pump Guide > Install",
        "Pump Guide > Install > Linux",
        "Pump Guide > Usage",
    ]
    assert document.sections[2].text == "Linux\n\nSteps."
    assert "code sample" in document.sections[3].text


def test_rst_overlined_title(tmp_path: Path) -> None:
    text = "=======\n Title\n=======\n\nBody.\n\nPart\n====\n\nMore.\n"
    document = load_document(_write(tmp_path, "o.rst", text))
    assert [s.heading for s in document.sections] == ["Title", "Title > Part"]


ORG = """#+TITLE: Garden Log
Preamble.
* Plants :garden:
Tomatoes.
** TODO Water
Every day.
* Tools
Spade.
"""


def test_org_sections(tmp_path: Path) -> None:
    document = load_document(_write(tmp_path, "log.org", ORG))
    assert document.kind == "org"
    assert document.title == "Garden Log"
    assert [s.heading for s in document.sections] == [None, "Plants", "Plants > TODO Water", "Tools"]
    assert document.sections[2].text == "TODO Water\n\nEvery day."


def test_csv_rows_become_labelled_lines(tmp_path: Path) -> None:
    rows = ["name,city,age"] + [f"Person {n},Town {n},{20 + n}" for n in range(45)] + ["Solo,,"]
    document = load_document(_write(tmp_path, "people.csv", "\r\n".join(rows)))
    assert document.kind == "csv"
    paragraphs = document.text.split("\n\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].splitlines()[0] == "name: Person 0; city: Town 0; age: 20"
    assert len(paragraphs[0].splitlines()) == 20
    assert paragraphs[2].splitlines()[-1] == "name: Solo"


def test_csv_semicolon_quotes_and_extra_columns(tmp_path: Path) -> None:
    text = 'product;price\n"Pump; large";"12,50"\nValve;3;spare\n'
    document = load_document(_write(tmp_path, "p.csv", text))
    assert document.text.splitlines() == [
        "product: Pump; large; price: 12,50",
        "product: Valve; price: 3; column 3: spare",
    ]


def test_tsv(tmp_path: Path) -> None:
    document = load_document(_write(tmp_path, "t.tsv", "a\tb\n1\t2\n"))
    assert document.text == "a: 1; b: 2"


def test_csv_header_only(tmp_path: Path) -> None:
    assert load_document(_write(tmp_path, "h.csv", "alpha,beta\n")).text == "alpha | beta"


def test_csv_in_cp1252(tmp_path: Path) -> None:
    document = load_document(_write(tmp_path, "c.csv", "item,price\ncafé,3 €\n".encode("cp1252")))
    assert document.text == "item: café; price: 3 €"


def test_long_heading_is_kept_whole_in_the_text(tmp_path: Path) -> None:
    words = " ".join(f"word{n}" for n in range(200))
    document = load_document(_write(tmp_path, "h.md", f"# {words}\n\nBody.\n"))
    heading = document.sections[0].heading
    assert heading is not None and len(heading) <= 200 and heading.startswith("word0 word1")
    assert document.sections[0].text == f"{words}\n\nBody."


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("links.md", "# " + "![" * 200_000 + "\n\ntext"),
        ("tags.org", "* " + " :a" * 100_000 + "x\ntext"),
        ("quotes.csv", '"\n' * 100_000),
        ("rst.rst", ("=" * 50 + "\n") * 50_000),
    ],
)
@pytest.mark.timeout(60)  # a hang guard, not a speed target: the bad cases took minutes to hours
def test_pathological_input_is_handled_in_linear_time(tmp_path: Path, name: str, text: str) -> None:
    """Backtracking regular expressions (and csv.Sniffer) take minutes on inputs like these."""
    with contextlib.suppress(ParseError):
        load_document(_write(tmp_path, name, text))
