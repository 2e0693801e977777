"""Web pages (and EPUB chapters): visible text only, split into sections at h1-h6.

Parsed by lxml (libxml2, in C) and walked with ``iterwalk``, never recursively, so deep nesting
cannot overflow the stack. Nothing is fetched: no DTDs, no network, no resources.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders.cleanup import clean_inline
from desktop.ingest.loaders.encoding import decode_text
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.sections import SectionBuilder

TOO_DEEP = "page is nested too deeply"
# Not content a reader sees: code, navigation, page chrome, forms, embedded objects.
_DROPPED = frozenset(
    "head script style noscript template nav aside form svg math iframe object embed canvas audio video map"
    " button select".split()
)
_CHROME = frozenset({"header", "footer"})  # site banners, unless they belong to an article
_CONTENT = frozenset({"article", "main", "section"})
_PARAGRAPHS = frozenset(
    "html body p div section article main blockquote pre table ul ol dl figure hr address details summary center"
    " fieldset header footer".split()
)
_LINES = frozenset("li dt dd tr caption figcaption option legend".split())
_BREAKS = ("\n", "\n\n")
_CELLS = frozenset({"td", "th"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
# Link menus (site navigation, a page's table of contents) are dropped like <nav>: saved pages
# repeat them at the top of every page, where they crowd the first passage's words and vector.
_MENU_BLOCKS = frozenset("ul ol menu dl div table p".split())
_MENU_MIN_LINKS = 3
_MENU_LINK_SHARE = 0.75  # of the block's words are link text...
_MENU_WORDS_PER_LINK = 5  # ...and its links are short: menu entries, not sentences
_SPACES = re.compile(r"\s+")
_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE
)


def load(path: Path, limits: LoadLimits, kind: str) -> ExtractedDocument:
    data = read_bytes(path, limits.max_bytes)
    for drop_menus in (True, False):  # a page that is nothing but links keeps them
        extractor = HtmlExtractor(limits, drop_menus=drop_menus)
        extractor.feed(data)
        sections = extractor.sections()
        if sections:
            return ExtractedDocument(kind=kind, title=extractor.title, sections=sections)
    raise ParseError("empty document")


def decode_html(data: bytes) -> str:
    """Text of an HTML file, honouring a BOM, then the charset its meta tag or XML declaration names."""
    match = _CHARSET.search(data[:4096])
    declared = (match.group(1) or match.group(2)).decode("ascii") if match else None
    return decode_text(data, declared)


class HtmlExtractor:
    """Feed one or more pages in reading order (EPUB chapters); headings carry over between pages."""

    def __init__(self, limits: LoadLimits, *, drop_menus: bool = True) -> None:
        self._limits = limits
        self._drop_menus = drop_menus
        self._builder = SectionBuilder()
        self._parts: list[str] = []  # text since the last heading, with "\n"/"\n\n" for blocks
        self.title: str | None = None
        self._first_heading: str | None = None

    def feed(self, data: bytes) -> None:
        root = self._parse(decode_html(data))
        if root is None:
            return
        if self.title is None:
            self.title = clean_inline(root.findtext("head/title"))
        self._walk(root)

    def sections(self) -> tuple[Section, ...]:
        self._flush()
        if self.title is None:
            self.title = self._first_heading
        return self._builder.build()

    def _parse(self, text: str) -> etree._Element | None:
        # Text as UTF-8 with the encoding forced: lxml refuses str carrying an XML encoding declaration.
        parser = etree.HTMLParser(
            encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True, huge_tree=True
        )
        try:
            root = etree.fromstring(text.encode("utf-8"), parser)
        except etree.XMLSyntaxError:
            return None  # nothing that looks like markup at all
        for error in parser.error_log:
            if error.type_name == "ERR_RESOURCE_LIMIT":  # libxml2 stopped early; the text would be cut
                raise ParseError(TOO_DEEP if "depth" in error.message else "page is too large to process")
        return root

    def _walk(self, root: etree._Element) -> None:
        menus = _link_menus(root) if self._drop_menus else set()
        depth = 0
        cells: list[int] = []  # cells seen so far in each open table row
        in_cell = in_pre = in_content = 0
        walker = etree.iterwalk(root, events=("start", "end"))
        for event, element in walker:
            tag = element.tag
            if not isinstance(tag, str):  # a comment or processing instruction the parser kept
                if event == "end":
                    self._text(element.tail, in_pre)
                continue
            dropped = (
                tag in _DROPPED or (tag in _CHROME and not in_content) or _hidden(element) or element in menus
            )
            if event == "end":
                depth -= 1
                if not dropped:
                    in_pre -= tag == "pre"
                    in_content -= tag in _CONTENT
                    in_cell -= tag in _CELLS
                    if tag == "tr" and cells:
                        cells.pop()
                    self._block_break(tag, in_cell)
                else:
                    self._text(" ", in_pre)  # "word<nav>…</nav>word" must not fuse the two words
                self._text(element.tail, in_pre)
                continue
            depth += 1
            if depth > self._limits.max_html_depth:
                raise ParseError(TOO_DEEP)
            if dropped or (tag in _HEADINGS and self._heading(_HEADINGS[tag], element)):
                walker.skip_subtree()  # its "end" event still comes, for the tail text
                continue
            if tag == "br":
                self._parts.append(" " if in_cell else "\n")
            self._block_break(tag, in_cell)
            if tag == "tr":
                cells.append(0)
            elif tag in _CELLS and cells:
                self._parts.append(" | " if cells[-1] else "")
                cells[-1] += 1
            in_pre += tag == "pre"
            in_content += tag in _CONTENT
            in_cell += tag in _CELLS
            self._text(element.text, in_pre)

    def _heading(self, level: int, element: etree._Element) -> bool:
        text = _SPACES.sub(" ", _visible_text(element))
        self._flush()
        started = self._builder.heading(level, text)
        if started and self._first_heading is None:
            self._first_heading = clean_inline(text)
        return started

    def _block_break(self, tag: str, in_cell: int) -> None:
        """A block's edges break the line; breaks in a row merge, the stronger one winning."""
        if tag not in _PARAGRAPHS and tag not in _LINES:
            return
        if in_cell:
            self._parts.append(" ")
            return
        mark = "\n\n" if tag in _PARAGRAPHS else "\n"
        if self._parts and self._parts[-1] in _BREAKS:
            self._parts[-1] = max(self._parts[-1], mark, key=len)
        else:
            self._parts.append(mark)

    def _text(self, text: str | None, in_pre: int) -> None:
        if not text:
            return
        if not in_pre:
            text = _SPACES.sub(" ", text)
            if text == " " and (not self._parts or self._parts[-1] in _BREAKS):
                return  # source indentation between blocks would split their breaks apart
        self._parts.append(text)

    def _flush(self) -> None:
        self._builder.add("".join(self._parts))
        self._parts = []


def _link_menus(root: etree._Element) -> set[etree._Element]:
    """Blocks that are mostly short links, found in one bottom-up pass (words, link words, links)."""
    counts: dict[etree._Element, tuple[int, int, int]] = {}
    menus: set[etree._Element] = set()
    for _, element in etree.iterwalk(root, events=("end",)):
        words = _word_count(element.text)
        link_words = links = 0
        for child in element:
            child_words, child_link_words, child_links = counts.pop(child, (0, 0, 0))
            words += child_words + _word_count(child.tail)
            link_words += child_link_words
            links += child_links
        if element.tag == "a":
            link_words, links = words, links + 1
        counts[element] = (words, link_words, links)
        if (
            element.tag in _MENU_BLOCKS and links >= _MENU_MIN_LINKS
            and link_words >= _MENU_LINK_SHARE * words and words <= _MENU_WORDS_PER_LINK * links
        ):
            menus.add(element)
    return menus


def _visible_text(element: etree._Element) -> str:
    """The element's text without what a reader never sees (a stray <style> a broken page nests in a heading)."""
    parts: list[str] = []
    walker = etree.iterwalk(element, events=("start", "end"))
    for event, node in walker:
        if event == "start":
            if node is not element and (node.tag in _DROPPED or not isinstance(node.tag, str)):
                walker.skip_subtree()
            else:
                parts.append(node.text or "")
        elif node is not element:
            parts.append(node.tail or "")
    return "".join(parts)


def _word_count(text: str | None) -> int:
    return len(text.split()) if text else 0


def _hidden(element: etree._Element) -> bool:
    return element.get("hidden") is not None or element.get("role") == "navigation"
