"""Web pages: visible text only, heading sections, tables, encodings, and hostile structure."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from desktop.core.errors import ParseError
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import load_document

PAGE = """<!doctype html>
<html><head><title> Bicycle   care </title><style>p { color: red }</style>
<script>var tracking = "SCRIPT-TEXT";</script></head>
<body>
<header><a href="/">Site banner</a></header>
<nav>Home | About</nav>
<div role="navigation">Breadcrumbs</div>
<noscript>Enable JS</noscript><template><p>Template text</p></template>
<p>Intro   paragraph
   spread over lines.</p>
<article>
  <header><h1>Chains</h1></header>
  <p>Keep the chain <b>clean</b> and lubricated.<br>Every week.</p>
  <ul><li>Rag</li><li>Oil</li></ul>
  <h2>Tyres</h2>
  <table><tr><th>Tyre</th><th>Pressure</th></tr><tr><td>Road</td><td><p>80 psi</p></td></tr></table>
  <pre>line one
    indented line</pre>
  <div hidden>Hidden text</div>
  <svg><text>SVG-TEXT</text></svg>
  <form><label>Email</label><input></form>
</article>
<aside>Related links</aside>
<footer>Copyright</footer>
<!-- a comment --><?php echo 1 ?>
</body></html>
"""


def _page(tmp_path: Path, html: str | bytes, name: str = "page.html") -> Path:
    path = tmp_path / name
    if isinstance(html, str):
        path.write_text(html, encoding="utf-8")
    else:
        path.write_bytes(html)
    return path


def test_visible_text_and_sections(tmp_path: Path) -> None:
    document = load_document(_page(tmp_path, PAGE))
    assert document.kind == "html"
    assert document.title == "Bicycle care"
    assert [s.heading for s in document.sections] == [None, "Chains", "Chains > Tyres"]
    assert document.sections[0].text == "Intro paragraph spread over lines."
    assert document.sections[1].text == "Chains\n\nKeep the chain clean and lubricated.\nEvery week.\n\nRag\nOil"
    tyres = document.sections[2].text
    assert "Tyre | Pressure\nRoad | 80 psi" in tyres
    assert "line one\nindented line" in tyres
    for hidden in (
        "SCRIPT-TEXT",
        "color",
        "Home",
        "Breadcrumbs",
        "Enable JS",
        "Template text",
        "Site banner",
        "Hidden text",
        "SVG-TEXT",
        "Email",
        "Related links",
        "Copyright",
        "a comment",
        "echo",
    ):
        assert hidden not in document.text, hidden


def test_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    document = load_document(_page(tmp_path, "<h1>Only <i>heading</i></h1><p>text</p>"))
    assert document.title == "Only heading"


def test_blank_headings_do_not_start_sections(tmp_path: Path) -> None:
    document = load_document(_page(tmp_path, "<h1>A</h1><p>one</p><h2> </h2><p>two</p>"))
    assert [(s.heading, s.text) for s in document.sections] == [("A", "A\n\none\n\ntwo")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('<meta charset="windows-1252"><p>café €</p>'.encode("cp1252"), "café €"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>naïve</p>'.encode("latin-1"),
            "naïve",
        ),
        ('<meta charset="koi8-r"><p>Привет мир</p>'.encode("koi8-r"), "Привет мир"),
        ("\ufeff<p>utf-16 page €</p>".encode("utf-16-le"), "utf-16 page €"),
        (
            '<?xml version="1.0" encoding="ISO-8859-1"?><html><body><p>déjà</p></body></html>'.encode("latin-1"),
            "déjà",
        ),
        ('<meta charset="iso-8859-1"><p>UTF-8 wins when valid: ü</p>'.encode(), "UTF-8 wins when valid: ü"),
    ],
    ids=[
        "meta-cp1252",
        "http-equiv-latin1",
        "meta-koi8r",
        "bom-utf16",
        "xml-declaration",
        "mislabelled-utf8",
    ],
)
def test_encodings(tmp_path: Path, data: bytes, expected: str) -> None:
    assert load_document(_page(tmp_path, data)).text == expected


def test_xhtml_file(tmp_path: Path) -> None:
    xhtml = (
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><title>X</title></head><body><h1>Top</h1><p>Hi<br/>there</p><p/>after</body></html>"
    )
    document = load_document(_page(tmp_path, xhtml, "page.xhtml"))
    assert document.text == "Top\n\nHi\nthere\n\nafter"


def test_binary_disguised_as_html(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="binary content, not text"):
        load_document(_page(tmp_path, b"<html>\x00\x01\x02\x03" * 100))


def test_page_without_text(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="empty document"):
        load_document(_page(tmp_path, "<html><head><title>t</title><script>x()</script></head><body></body></html>"))


@pytest.mark.timeout(60)  # a hang guard, not a speed target
def test_deep_nesting_is_refused_quickly(tmp_path: Path) -> None:
    depth = 100_000
    with pytest.raises(ParseError, match="nested too deeply"):
        load_document(_page(tmp_path, "<div>" * depth + "deep" + "</div>" * depth))


def test_nesting_over_the_configured_limit(tmp_path: Path) -> None:
    html = "<div>" * 60 + "deep" + "</div>" * 60
    assert load_document(_page(tmp_path, html)).text == "deep"
    with pytest.raises(ParseError, match="nested too deeply"):
        load_document(_page(tmp_path, html), LoadLimits(max_html_depth=50))


def test_nesting_within_the_limit_is_read_completely(tmp_path: Path) -> None:
    """libxml2 silently cuts trees deeper than 255 unless told otherwise; text after them must survive."""
    html = "<p>before</p>" + "<span>" * 1_500 + "deep" + "</span>" * 1_500 + "<p>after</p>"
    assert load_document(_page(tmp_path, html)).text == "before\n\ndeep\n\nafter"


@pytest.mark.timeout(120)  # a hang guard, not a speed target
def test_huge_attribute(tmp_path: Path) -> None:
    html = '<p title="' + "a" * (50 * 2**20) + '">hello</p><p>bye</p>'
    assert load_document(_page(tmp_path, html)).text == "hello\n\nbye"


def test_huge_text_node_is_kept(tmp_path: Path) -> None:
    """Over libxml2's default 10 MB text limit: still read, not silently dropped."""
    html = "<p>" + "word " * 3_000_000 + "</p><p>end</p>"
    assert load_document(_page(tmp_path, html)).text.endswith("word\n\nend")


def test_nothing_is_fetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    html = (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
        '<html><head><link rel="stylesheet" href="http://example.com/x.css"><base href="http://example.com/">'
        '</head><body><img src="http://example.com/x.png"><iframe src="http://example.com/"></iframe>'
        "<p>&nbsp;local &amp; text</p></body></html>"
    )
    assert load_document(_page(tmp_path, html)).text == "local & text"


def test_internal_entity_declarations_are_not_expanded(tmp_path: Path) -> None:
    html = (
        '<!DOCTYPE html [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<html><body><p>&b;</p></body></html>"
    )
    assert "aaaaaaaaaa" not in load_document(_page(tmp_path, html)).text


def test_text_after_skipped_elements_is_kept(tmp_path: Path) -> None:
    html = "<p>Keep <script>x()</script>this <span hidden>no</span>tail</p><h2>Head</h2>loose text<nav>n</nav>end"
    document = load_document(_page(tmp_path, html))
    assert [(s.heading, s.text) for s in document.sections] == [
        (None, "Keep this tail"),
        ("Head", "Head\n\nloose text end"),
    ]


SAVED_PAGE = """<html><head><title>Checksums</title></head><body>
<div class="menu"><ul><li><a href="/">Home</a><li><a href="/about">About</a><li><a href="/docs">Documentation</a>
<li><a href="/download">Download</a><li><a href="/support">Support</a></ul></div>
<div class="toc"><a href="#1">1. Overview</a><br><a href="#2">2. Compiling the shim</a><br>
<a href="#3">3. Usage</a></div>
<h1>1. Overview</h1>
<p>The shim adds a checksum to every page, as <a href="vfs.html">a VFS</a> does, and
<a href="verify.html">verifies it</a> on each read of <a href="pages.html">a page</a>.</p>
<h2>See also</h2>
<ul><li><a href="vfs.html">The VFS interface, which every shim builds on to intercept reads and writes</a>
<li><a href="corrupt.html">How database files become corrupt, and how to recover what is left of them</a>
<li><a href="backup.html">Copying a live database safely with the online backup interface</a></ul>
</body></html>"""


def test_link_menus_are_dropped_like_nav_but_content_links_stay(tmp_path: Path) -> None:
    """Saved pages repeat their site menu and table of contents on top; they are not the page's text."""
    text = load_document(_page(tmp_path, SAVED_PAGE)).text
    for menu_word in ("Home", "Download", "Support", "Compiling the shim"):
        assert menu_word not in text
    assert "as a VFS does, and verifies it on each read of a page." in text  # links inside a sentence
    assert "Copying a live database safely with the online backup interface" in text  # descriptive links


def test_a_page_of_nothing_but_links_keeps_them(tmp_path: Path) -> None:
    items = "".join(f'<li><a href="p{n}.html">Part {n}</a>' for n in range(6))
    page = f"<html><body><ul>{items}</ul></body></html>"
    assert load_document(_page(tmp_path, page)).text == "\n".join(f"Part {n}" for n in range(6))


def test_a_style_a_broken_page_nests_in_a_heading_is_not_heading_text(tmp_path: Path) -> None:
    page = '<html><body><h2 align="center">Documentation</h1><style>.x { margin: 0 }</style><p>Lists.</p></body></html>'
    document = load_document(_page(tmp_path, page))
    assert all("margin" not in (section.heading or "") for section in document.sections)
    assert "margin" not in document.text
