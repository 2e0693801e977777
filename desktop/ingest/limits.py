"""Hard limits that keep a hostile or broken file from exhausting memory, disk or time while parsing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LoadLimits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_bytes: int = Field(256 * 2**20, ge=1, description="bigger files are refused before reading")
    max_pages: int = Field(10_000, ge=1, description="PDFs claiming more pages are refused")
    max_zip_entries: int = Field(10_000, ge=1)
    max_unzipped_bytes: int = Field(512 * 2**20, ge=1, description="declared unzipped size of a DOCX/EPUB")
    max_zip_ratio: float = Field(200.0, gt=1.0, description="an entry compressed more than this is a bomb")
    max_html_depth: int = Field(2_000, ge=1, description="deeper element nesting is refused")
    ocr: bool = Field(True, description="read images and scanned PDF pages by OCR")
    # A 600 dpi A3 scan is 70 million pixels; the header is checked before any pixel is decoded.
    max_image_pixels: int = Field(100_000_000, ge=1, description="bigger images (or image bombs) are refused")
    max_image_frames: int = Field(100, ge=1, description="multi-page images (TIFF) with more pages are refused")
