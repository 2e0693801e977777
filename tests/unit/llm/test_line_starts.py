"""The line-start ban's logic, on a made-up vocabulary (the real model's run is in tests/llm/test_host.py)."""

from __future__ import annotations

import numpy as np

from desktop.llm.line_starts import BannedTokens, LineStartBan, LineTracker, could_start, opens_line

PIECES = ["<", "source", " <", "</", "\n", "\n<", "Hello", "```", "x", "", "<|"]


def _allowed_after(ban: LineStartBan, written: str) -> set[str]:
    ban.feed(written)
    scores = ban(np.zeros(1, dtype=np.intc), np.zeros(len(PIECES), dtype=np.float32))
    return {piece for piece, score in zip(PIECES, scores, strict=True) if np.isfinite(score)}


def test_a_piece_could_start_a_prefix_by_beginning_with_it_or_being_its_beginning() -> None:
    assert could_start("<", ["<source"]) and could_start("<source", ["<"]) and could_start("</", ["<"])
    assert not could_start(" <", ["<"]) and not could_start("", ["<"]) and not could_start("so", ["<"])


def test_a_piece_opens_a_line_only_with_a_prefix_after_its_line_break() -> None:
    assert opens_line("\n<", ["<"]) and opens_line(".\n\n</", ["<"])
    assert not opens_line("<\n", ["<"]) and not opens_line("\n x", ["<"])


def test_the_tracker_knows_line_starts_and_code_blocks() -> None:
    tracker = LineTracker()
    assert tracker.at_line_start and not tracker.in_code
    tracker.feed("The answer")
    assert not tracker.at_line_start
    tracker.feed(" is:\n")
    assert tracker.at_line_start
    tracker.feed("```html\n")
    assert tracker.in_code
    tracker.feed("<p>hi</p>\n  ``")
    assert tracker.in_code  # a fence counts once its line is written
    tracker.feed("`\n")
    assert not tracker.in_code


def test_at_the_start_of_a_line_no_token_can_begin_the_markup() -> None:
    allowed = _allowed_after(LineStartBan(BannedTokens(PIECES, ["<"])), "The answer is:\n")
    assert allowed == {"source", " <", "\n", "Hello", "```", "x", ""}


def test_mid_line_only_tokens_that_would_open_the_next_line_with_it_are_banned() -> None:
    allowed = _allowed_after(LineStartBan(BannedTokens(PIECES, ["<"])), "Use git add")
    assert allowed == set(PIECES) - {"\n<"}  # " <pathspec>" and "x < 5" stay possible


def test_inside_a_code_block_nothing_is_banned() -> None:
    allowed = _allowed_after(LineStartBan(BannedTokens(PIECES, ["<"])), "Like this:\n```html\n")
    assert allowed == set(PIECES)


def test_the_very_first_token_counts_as_a_line_start() -> None:
    allowed = _allowed_after(LineStartBan(BannedTokens(PIECES, ["<"])), "")
    assert "<" not in allowed and "</" not in allowed and "<|" not in allowed and "Hello" in allowed
