"""Scans made by the tests: text drawn with Pillow, turned a few degrees, speckled, saved as images or PDFs."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")  # fonts-dejavu-core, in the Makefile's set-up
DPI = 200
FILLER = (
    "the committee met on tuesday and agreed that the minutes of the last meeting were a fair record "
    "of what was said and that the next meeting would be held in the library after the summer"
).split()


def _page_size(dpi: int) -> tuple[int, int]:
    return int(5.83 * dpi), int(8.27 * dpi)


def _line_start(number: int, dpi: int) -> tuple[int, int]:
    """Where page_image begins printing line ``number`` (0-based)."""
    return int(0.6 * dpi), int(0.6 * dpi) + number * int(18 / 72 * dpi)


def _font(dpi: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), int(12 / 72 * dpi))


def page_image(
    lines: list[str], *, seed: int = 0, dpi: int = DPI, angle: float = 1.5, noise: float = 20.0
) -> Image.Image:
    """An A5 page holding ``lines`` then filler text, as a scanner would give it: grey, askew and noisy."""
    rng = random.Random(seed)
    width, height = _page_size(dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = _font(dpi)
    filler = [" ".join(rng.choice(FILLER) for _ in range(7)) for _ in range(12)]
    for number, line in enumerate([*lines, "", *filler]):
        draw.text(_line_start(number, dpi), line, font=font, fill=30)
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    speckle = np.random.default_rng(seed).normal(0.0, noise, (height, width))
    return Image.fromarray(np.clip(np.asarray(page, dtype=np.float64) + speckle, 0, 255).astype(np.uint8))


def printed_box(lines: list[str], number: int, *, dpi: int = DPI) -> tuple[float, float, float, float]:
    """Where the ink of ``lines[number]`` lies on a page_image(lines, angle=0): left, top, right, bottom, as
    fractions of the page."""
    width, height = _page_size(dpi)
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = draw.textbbox(_line_start(number, dpi), lines[number], font=_font(dpi))
    return left / width, top / height, right / width, bottom / height


def blank_image(width: int = 1100, height: int = 1500, *, seed: int = 0) -> Image.Image:
    """A page with no text: paper grain and a few smudges."""
    grain = np.random.default_rng(seed).normal(235.0, 12.0, (height, width))
    image = Image.fromarray(np.clip(grain, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for box in ((100, 200, 260, 330), (700, 900, 820, 1000)):
        draw.ellipse(box, fill=150)
    return image


def write_scanned_pdf(path: Path, pages: list[Image.Image], dpi: int = DPI) -> Path:
    """A PDF of pictures only, no text layer, as a scanner writes it."""
    pages[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=pages[1:])
    return path


def write_pixel_bomb(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A real PNG of one-bit pixels, all white: a few dozen KB that decode to ``width`` x ``height`` bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte, then the row's bits
    pixels = b"".join(packer.compress(row * 500) for _ in range(height // 500)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # one bit, grey
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def write_many_page_tiff(path: Path, pages: int) -> Path:
    frames = [Image.new("L", (16, 16), 255) for _ in range(pages)]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:])
    return path


def write_truncated_jpeg(path: Path) -> Path:
    buffer = path.with_suffix(".full.jpg")
    page_image(["Truncated Yarrowmede survey"]).save(buffer, "JPEG", quality=85)
    data = buffer.read_bytes()
    buffer.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_postscript_named_png(path: Path) -> Path:
    """An EPS under an image's name: Pillow would hand it to Ghostscript if every decoder were allowed."""
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n/Times findfont 12 scalefont setfont\n"
                     b"10 50 moveto (drawn by ghostscript) show showpage\n%%EOF\n")
    return path
