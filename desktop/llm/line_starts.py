"""Keeping an answer's lines from opening with the prompt's own markup.

A small model that has read passages in tags goes on, after a line or two of answer, to write the next
tag itself ("The answer is:\\n<source n=..."). Stopping there leaves an empty answer; never sampling
the tag's first token at the start of a line makes the model write the answer instead. Mid-line text
("git add <pathspec>", "x < 5") and code blocks are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FENCES = ("```", "~~~")


def could_start(piece: str, prefixes: Sequence[str]) -> bool:
    """``piece`` begins with one of ``prefixes``, or is the beginning of one."""
    return bool(piece) and any(piece[: len(prefix)] == prefix[: len(piece)] for prefix in prefixes)


def opens_line(piece: str, prefixes: Sequence[str]) -> bool:
    """``piece`` ends a line and begins the next with (the beginning of) one of ``prefixes``."""
    return any(could_start(after, prefixes) for after in piece.split("\n")[1:])


class LineTracker:
    """Where the text written so far stands: at the start of a line, inside a code block."""

    def __init__(self) -> None:
        self.line = ""
        self.in_code = False

    @property
    def at_line_start(self) -> bool:
        return not self.line

    def feed(self, text: str) -> None:
        *finished, self.line = (self.line + text).split("\n")
        for line in finished:
            if line.lstrip().startswith(FENCES):
                self.in_code = not self.in_code


class BannedTokens:
    """The tokens of a vocabulary (``pieces``, each token's text) that could open a line with one of
    ``prefixes``: at the start of a line, and anywhere (their own line break comes first)."""

    def __init__(self, pieces: Sequence[str], prefixes: Sequence[str]) -> None:
        self.prefixes = tuple(prefixes)
        self.at_line_start = np.array([i for i, p in enumerate(pieces) if could_start(p, prefixes)], dtype=np.intp)
        self.anywhere = np.array([i for i, p in enumerate(pieces) if opens_line(p, prefixes)], dtype=np.intp)


class LineStartBan:
    """A llama.cpp logits processor for one answer: tokens that would open a line with a banned prefix
    get no chance. ``feed`` it each sampled token's text, as the answer grows."""

    def __init__(self, banned: BannedTokens) -> None:
        self._banned = banned
        self._tracker = LineTracker()

    def feed(self, text: str) -> None:
        self._tracker.feed(text)

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if not self._tracker.in_code:
            scores[self._banned.anywhere] = -np.inf
            if self._tracker.at_line_start:
                scores[self._banned.at_line_start] = -np.inf
        return scores
