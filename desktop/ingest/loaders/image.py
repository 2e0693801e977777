"""Pictures of pages (PNG, JPEG, TIFF, WebP) read by OCR: one section per page of a multi-page TIFF.

Only these four decoders may run (Pillow would otherwise hand an EPS to Ghostscript), and an image's
size and page count are checked from its header before any pixel is decoded, so an image bomb costs
nothing but the check. The viewer shows a page as OCR saw it (``picture``), once a parse worker has
decoded every page of the same file with OCR off.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from desktop.core.errors import ParseError
from desktop.core.types import ExtractedDocument, Section
from desktop.ingest.limits import LoadLimits
from desktop.ingest.loaders import NothingToRead, OcrPages
from desktop.ingest.loaders.files import read_bytes
from desktop.ingest.loaders.ocr import MAX_PIXELS

FORMATS = ("PNG", "JPEG", "TIFF", "WEBP")
OCR_OFF = "an image, and OCR is turned off"
NO_TEXT = "no text found (image)"


def load(path: Path, limits: LoadLimits, kind: str, ocr: OcrPages) -> ExtractedDocument:
    data = read_bytes(path, limits.max_bytes)
    with _opened(data, limits) as image:
        sections, pages = _read_pages(image, limits, ocr if limits.ocr else None)
    if not limits.ocr:  # every page was checked and decoded, none read
        raise ParseError(OCR_OFF)
    if not sections:
        raise NothingToRead(NO_TEXT)
    return ExtractedDocument(kind=kind, sections=tuple(sections), pages=pages if pages > 1 else None)


def picture(data: bytes, page: int, limits: LoadLimits, max_pixels: int) -> Image.Image:
    """Page ``page`` (1-based) of an image file as OCR saw it, upright, in RGB, at most ``max_pixels``."""
    with _opened(data, limits) as image:
        pages = _page_count(image, limits.max_image_frames) if image.format == "TIFF" else 1
        image.seek(max(0, min(page, pages) - 1))
        _check_size(image, limits.max_image_pixels)
        shown = _decoded(image).convert("RGB")
    scale = min(1.0, (max_pixels / (shown.width * shown.height)) ** 0.5)
    if scale < 1.0:
        shown = shown.resize((max(1, int(shown.width * scale)), max(1, int(shown.height * scale))))
    return shown


@contextmanager
def _opened(data: bytes, limits: LoadLimits) -> Iterator[Image.Image]:
    """The image in ``data``, by one of FORMATS; Pillow's refusals become one reason each."""
    try:
        # Pillow warns of damaged metadata (the pixels may still be read) and of a possible bomb from
        # 89 million pixels (the size is checked before decoding): neither is news to the reader.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                yield image
    except UnidentifiedImageError as exc:
        raise ParseError("not a valid PNG, JPEG, TIFF or WebP image") from exc
    except Image.DecompressionBombError as exc:  # Pillow's own bound, twice its warning, is above ours
        raise ParseError(f"image is too large (more than {limits.max_image_pixels / 1e6:g} million pixels)") from exc
    except (OSError, EOFError, SyntaxError, ValueError) as exc:  # what Pillow raises for cut or corrupt data
        raise ParseError("damaged image (truncated or corrupt)") from exc


def _read_pages(image: Image.Image, limits: LoadLimits, ocr: OcrPages | None) -> tuple[list[Section], int]:
    """Each page's section; ``ocr`` None: each page is only checked and decoded."""
    pages = _page_count(image, limits.max_image_frames) if image.format == "TIFF" else 1  # GIF-like frames are no pages
    sections = []
    for number in range(1, pages + 1):
        image.seek(number - 1)
        _check_size(image, limits.max_image_pixels)
        if ocr is None:
            _decoded(image)
            continue
        read = ocr.read(number, pages, lambda: _decoded(image))
        if read.text:  # OCR's text is clean already: one box per word
            sections.append(Section(
                text=read.text, page=number if pages > 1 else None, ocr_confidence=read.confidence,
                ocr_boxes=read.boxes,
            ))
    return sections, pages


def _page_count(image: Image.Image, limit: int) -> int:
    """Pages of a TIFF, counted by walking at most ``limit`` + 1 of them (a file may claim millions)."""
    count = 1
    while count <= limit:
        try:
            image.seek(count)
        except EOFError:
            break
        count += 1
    if count > limit:
        raise ParseError(f"image has too many pages (more than {limit:,})")
    image.seek(0)
    return count


def _check_size(image: Image.Image, limit: int) -> None:
    width, height = image.size
    if width * height > limit:
        raise ParseError(
            f"image is too large ({width:,} × {height:,} pixels; the limit is {limit / 1e6:g} million pixels)"
        )


def _decoded(image: Image.Image) -> Image.Image:
    """The page's pixels, upright as the camera meant; a big JPEG is decoded at a reduced size."""
    scale = min(1.0, (MAX_PIXELS / (image.width * image.height)) ** 0.5)
    if image.format == "JPEG" and scale < 1.0:
        image.draft("L", (int(image.width * scale), int(image.height * scale)))
    image.load()
    return ImageOps.exif_transpose(image)
