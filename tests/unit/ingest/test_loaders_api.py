"""The package surface: extensions, kinds, dispatch, and turning every failure into ParseError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import SUPPORTED_EXTENSIONS, kind_for, load_document


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.txt", "text"),
        ("a.LOG", "text"),
        ("a.md", "markdown"),
        ("a.markdown", "markdown"),
        ("a.rst", "rst"),
        ("a.org", "org"),
        ("a.PDF", "pdf"),
        ("a.docx", "docx"),
        ("a.html", "html"),
        ("a.htm", "html"),
        ("a.xhtml", "html"),
        ("a.epub", "epub"),
        ("a.csv", "csv"),
        ("a.tsv", "csv"),
        ("a.json", "config"),
        ("a.yaml", "config"),
        ("a.yml", "config"),
        ("a.toml", "config"),
        ("a.ini", "config"),
        ("a.cfg", "config"),
        ("a.py", "code"),
        ("a.tsx", "code"),
        ("a.rs", "code"),
        ("a.tex", "code"),
        ("a.scss", "code"),
        ("a.sql", "code"),
        ("a.png", "image"),
        ("a.JPG", "image"),
        ("a.jpeg", "image"),
        ("a.tif", "image"),
        ("a.tiff", "image"),
        ("a.webp", "image"),
    ],
)
def test_kind_for_supported(name: str, kind: str) -> None:
    assert kind_for(Path("/docs") / name) == kind
    assert Path(name).suffix.lower() in SUPPORTED_EXTENSIONS


@pytest.mark.parametrize("name", ["a.exe", "a.gif", "a.svg", "a.doc", "noext", "a.zip"])
def test_kind_for_unsupported(name: str) -> None:
    assert kind_for(Path(name)) is None


def test_extensions_are_lower_case_with_dot() -> None:
    assert all(ext.startswith(".") and ext == ext.lower() for ext in SUPPORTED_EXTENSIONS)


def test_unsupported_file_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "drawing.svg"
    path.write_bytes(b"<svg/>")
    with pytest.raises(ParseError, match="unsupported file type"):
        load_document(path)


def test_limits_are_frozen_with_documented_defaults() -> None:
    limits = LoadLimits()
    assert limits.max_bytes == 256 * 2**20
    assert limits.max_pages == 10_000
    assert limits.max_zip_entries == 10_000
    assert limits.max_unzipped_bytes == 512 * 2**20
    assert limits.max_zip_ratio == 200.0
    assert limits.max_html_depth == 2_000
    with pytest.raises(ValueError):
        limits.max_bytes = 1  # type: ignore[misc]


def test_unexpected_error_becomes_parse_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ingest.loaders import html

    def broken(*_: object) -> None:
        raise KeyError("internal detail")

    monkeypatch.setattr(html, "load", broken)
    path = tmp_path / "page.html"
    path.write_text("<p>hi</p>")
    with pytest.raises(ParseError) as caught:
        load_document(path)
    assert str(caught.value) == "could not read this web page"
    assert "internal detail" not in str(caught.value)


def test_memory_error_becomes_parse_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ingest.loaders import text

    def exhausted(*_: object) -> None:
        raise MemoryError

    monkeypatch.setattr(text, "load", exhausted)
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(ParseError, match="too large to process"):
        load_document(path)


def test_keyboard_interrupt_is_not_swallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ingest.loaders import text

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(text, "load", interrupted)
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(KeyboardInterrupt):
        load_document(path)


def test_importing_the_package_is_cheap() -> None:
    """Heavy parsers load only with a file of their kind, and nothing from the app's upper layers."""
    code = (
        "import sys, desktop.ingest.loaders, desktop.ingest.limits\n"
        "heavy = {'pypdfium2', 'docx', 'lxml', 'bs4', 'charset_normalizer', 'PySide6', 'torch', 'chromadb'}\n"
        "loaded = sorted(heavy & {name.split('.')[0] for name in sys.modules})\n"
        "upper = sorted(n for n in sys.modules if n.startswith(('desktop.services', 'desktop.store',"
        " 'desktop.llm', 'desktop.workers', 'desktop.ui')))\n"
        "print(loaded, upper)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "[] []"
