"""Numbers, sizes, times and places written the way people read them."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from desktop.core.types import Passage

KIND_NAMES = {
    "pdf": "PDF", "docx": "Word", "html": "Web page", "markdown": "Markdown", "text": "Text", "epub": "E-book",
    "csv": "Table", "code": "Code", "config": "Config", "rst": "reStructuredText", "org": "Org",
}


def size(n_bytes: int) -> str:
    value = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 90:
        return f"about {round(seconds / 10) * 10:.0f} s left"
    minutes = seconds / 60
    if minutes < 90:
        return f"about {minutes:.0f} min left"
    return f"about {minutes / 60:.1f} h left"


def when(timestamp: float | None, now: float | None = None) -> str:
    """'just now', '5 min ago', 'yesterday', 'Mon', '12 Mar', '12 Mar 2023'."""
    if timestamp is None:
        return ""
    now = now or time.time()
    delta = now - timestamp
    if delta < 60:
        return "just now"
    if delta < 3600:
        return f"{delta // 60:.0f} min ago"
    moment, today = dt.datetime.fromtimestamp(timestamp), dt.datetime.fromtimestamp(now)
    days = (today.date() - moment.date()).days
    if days == 0:
        return moment.strftime("%H:%M")
    if days == 1:
        return "yesterday"
    if days < 7:
        return moment.strftime("%a")
    if moment.year == today.year:
        return f"{moment.day} {moment:%b}"  # not %-d: glibc only
    return f"{moment.day} {moment:%b %Y}"


def location(passage: Passage) -> str:
    """Where in its document a passage is: 'page 3' or 'Garden notes › Tomatoes'."""
    if passage.page is not None:
        return f"page {passage.page}"
    if passage.heading:
        return passage.heading.replace(" > ", " › ")
    return ""


def file_name(path: str) -> str:
    return Path(path).name or path


def snippet(text: str, limit: int = 220) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1].rsplit(" ", 1)[0] + "…"
