"""Turn one file into an ExtractedDocument, or raise ParseError with a reason a person understands.

Each format lives in its own module, imported only when a file of that kind is loaded, so importing
this package stays cheap (no PDFium, lxml or python-docx until needed).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, OcrPage, OcrText
from desktop.ingest.limits import LoadLimits

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "KINDS", "SCANNED_OCR_OFF", "SUPPORTED_EXTENSIONS", "NothingToRead", "OcrPages", "PageProgress", "kind_for",
    "load_document",
]

# Told (page, pages) as each page's OCR starts: OCR takes seconds a page, so progress can show it.
PageProgress = Callable[[int, int], None]
SCANNED_OCR_OFF = "no text layer (scanned PDF; OCR is turned off)"


class NothingToRead(ParseError):
    """A file that is fine but holds no text (a photo): reported apart from files that could not be read."""


class OcrPages:
    """How a loader gets a page's OCR: from the pages read before an interruption when it has them, else read
    now, said as it starts (``started``) and handed on as soon as it is done (``finished``)."""

    def __init__(
        self,
        known: Mapping[int, OcrText] | None = None,
        *,
        started: PageProgress | None = None,
        finished: Callable[[OcrPage], None] | None = None,
    ) -> None:
        self.known = dict(known or {})
        self._started = started
        self._finished = finished

    def read(self, page: int, pages: int, draw: Callable[[], Image.Image]) -> OcrText:
        """Page ``page`` of ``pages``; ``draw`` makes its picture, only if it has to be read."""
        if (known := self.known.get(page)) is not None:
            return known
        from desktop.ingest.loaders.ocr import recognise

        if self._started is not None:
            self._started(page, pages)
        read = recognise(draw())
        if self._finished is not None:
            self._finished(OcrPage(page=page, read=read))
        return read

_CODE = (
    ".py .pyi .pyw .ipynb .js .mjs .cjs .ts .tsx .jsx .vue .svelte .java .kt .kts .scala .groovy .gradle"
    " .c .h .cc .cpp .cxx .hpp .hh .hxx .cs .fs .go .rs .rb .php .swift .m .mm .dart .lua .pl .pm .r .jl"
    " .hs .ml .ex .exs .erl .clj .el .lisp .scm .zig .nim .sh .bash .zsh .fish .ps1 .bat .cmd .sql .css"
    " .scss .sass .less .tex .bib .cmake .proto .graphql"
)
_CONFIG = ".json .jsonl .yaml .yml .toml .ini .cfg .conf .properties .env .xml"
_KINDS: dict[str, str] = {
    **dict.fromkeys(_CODE.split(), "code"),
    **dict.fromkeys(_CONFIG.split(), "config"),
    **dict.fromkeys((".txt", ".text", ".log"), "text"),
    **dict.fromkeys((".md", ".markdown"), "markdown"),
    ".rst": "rst",
    ".org": "org",
    ".pdf": "pdf",
    ".docx": "docx",
    **dict.fromkeys((".html", ".htm", ".xhtml"), "html"),
    ".epub": "epub",
    **dict.fromkeys((".csv", ".tsv"), "csv"),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"), "image"),
}
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_KINDS)
KINDS: frozenset[str] = frozenset(_KINDS.values())

# kind -> module in this package whose ``load(path, limits, kind)`` reads it
_MODULES = {
    **dict.fromkeys(("code", "config", "text"), "text"),
    **dict.fromkeys(("markdown", "rst", "org"), "markup"),
    **{kind: kind for kind in ("pdf", "docx", "html", "epub", "image")},
    "csv": "delimited",
}
OCR_KINDS = frozenset({"pdf", "image"})  # their loaders may read pages by OCR, and say so as they go
# How an unexpected failure is described, by kind.
_NAMES = {
    "pdf": "PDF", "docx": "Word document", "html": "web page", "epub": "e-book", "csv": "CSV file", "image": "image",
}


def kind_for(path: Path) -> str | None:
    """The loader kind for ``path`` by its extension, or None if Hearth cannot read it."""
    return _KINDS.get(path.suffix.lower())


def load_document(
    path: Path, limits: LoadLimits = LoadLimits(), ocr: OcrPages | None = None  # noqa: B008
) -> ExtractedDocument:
    """Extract the text of ``path``; every failure is a ParseError whose message is shown to the user.
    ``ocr``: pages read before, and who is told of each page OCR reads."""
    kind = kind_for(path)
    if kind is None:
        raise ParseError("unsupported file type")
    module = importlib.import_module(f"{__name__}.{_MODULES[kind]}")
    try:
        document: ExtractedDocument = (
            module.load(path, limits, kind, ocr or OcrPages()) if kind in OCR_KINDS else module.load(path, limits, kind)
        )
        return document
    except ParseError:
        raise
    except MemoryError as exc:
        raise ParseError("too large to process (out of memory)") from exc
    except RecursionError as exc:
        raise ParseError("document is nested too deeply") from exc
    except Exception as exc:  # a parser bug or a file no check foresaw: never show a traceback
        raise ParseError(f"could not read this {_NAMES.get(kind, 'file')}") from exc
