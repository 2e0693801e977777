"""Collect text blocks into sections split at headings, each labelled with its heading path."""

from __future__ import annotations

from desktop.core.types import Section
from desktop.ingest.loaders.cleanup import clean_inline, clean_text

PATH_SEPARATOR = " > "


class SectionBuilder:
    """Feed blocks and headings in reading order; ``build`` returns the non-empty sections."""

    def __init__(self) -> None:
        self._trail: list[tuple[int, str]] = []  # (level, heading) from the outermost in
        self._blocks: list[str] = []
        self._sections: list[Section] = []

    @property
    def heading_path(self) -> str | None:
        return PATH_SEPARATOR.join(text for _, text in self._trail) or None

    def add(self, block: str) -> None:
        self._blocks.append(block)

    def heading(self, level: int, text: str) -> bool:
        """Start a section under ``text``; False (and nothing changes) if the heading is blank."""
        label = clean_inline(text, limit=200)
        if label is None:
            return False
        self._flush()
        while self._trail and self._trail[-1][0] >= level:
            self._trail.pop()
        self._trail.append((level, label))
        self._blocks.append(text)  # the whole heading stays in the text so chunks keep it
        return True

    def build(self) -> tuple[Section, ...]:
        self._flush()
        return tuple(self._sections)

    def _flush(self) -> None:
        text = clean_text("\n\n".join(self._blocks))
        if text:
            self._sections.append(Section(text=text, heading=self.heading_path))
        self._blocks = []
