"""Careful answers: more than one draft of a grounded answer, and the one the files support best kept.

A small model writes from the wrong passage as often as from the right one, and one draft's luck
decides. Measured on the dev sets (docs/answer-eval.md): keeping, of three drafts (the answer as set,
then two at temperature 0.7), the one that draws on the best-ranked passage and then has the largest
share of supported sentences raised the answers' own sentences citing a relevant file from 0.537 to
0.637. It needs no gold answer, only Hearth's own checks, and costs a generation per draft.
"""

from __future__ import annotations

from collections.abc import Sequence

from desktop.core.settings import GenerationSettings
from desktop.core.types import Passage, SentenceSupport

DRAFT_TEMPERATURE = 0.7  # enough for another reading of the passages; the first draft keeps the user's


def draft_settings(generation: GenerationSettings, number: int) -> GenerationSettings:
    """Draft ``number`` (0 is the answer as set): sampled more freely, each with its own seed."""
    if number == 0:
        return generation
    return generation.model_copy(update={
        "temperature": max(generation.temperature, DRAFT_TEMPERATURE),
        "seed": (generation.seed + number) % 2**32,
    })


def support_rank(sentences: Sequence[SentenceSupport], passages: Sequence[Passage]) -> tuple[int, float]:
    """Higher is better: whether a supported sentence draws on the best-ranked passage, then the share of
    checked sentences the passages support."""
    checked = [s for s in sentences if s.supported is not None]
    supported = [s for s in checked if s.supported]
    best = min((p.n for p in passages), default=None)
    draws_on_best = int(any(s.n == best for s in supported))
    return draws_on_best, len(supported) / len(checked) if checked else 0.0


def choice_note(kept: int, drafts: int, ranks: Sequence[tuple[int, float]]) -> str:
    """What the answer's notes say about the drafts (``kept`` counts from 0)."""
    share = f"{ranks[kept][1]:.0%} of its sentences found in your files"
    if kept == 0:
        return f"wrote {drafts} drafts and kept the first ({share}): no other was better supported"
    return f"wrote {drafts} drafts and kept draft {kept + 1} ({share}, the first {ranks[0][1]:.0%})"
