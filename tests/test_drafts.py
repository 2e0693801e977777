"""How careful answers sample their further drafts and rank them (the answers themselves: test_answer_checks.py)."""

from __future__ import annotations

from desktop.core.settings import GenerationSettings
from desktop.core.types import Passage, SentenceSupport
from desktop.services.drafts import DRAFT_TEMPERATURE, choice_note, draft_settings, support_rank


def _passage(n: int) -> Passage:
    return Passage(n=n, chunk_id=n, document_id=n, path=f"/notes/{n}.md", text="text", score=1.0)


def _sentence(supported: bool | None, n: int | None = None) -> SentenceSupport:
    return SentenceSupport(start=0, end=1, supported=supported, n=n)


def test_further_drafts_sample_more_freely_each_with_its_own_seed() -> None:
    chosen = GenerationSettings(temperature=0.2, seed=2**32 - 1)
    assert draft_settings(chosen, 0) == chosen, "the first draft is the answer as set"
    second, third = draft_settings(chosen, 1), draft_settings(chosen, 2)
    assert second.temperature == third.temperature == DRAFT_TEMPERATURE
    assert {chosen.seed, second.seed, third.seed} == {2**32 - 1, 0, 1}, "seeds stay in range and differ"
    assert draft_settings(GenerationSettings(temperature=1.2), 1).temperature == 1.2, "never less free than set"


def test_a_draft_drawing_on_the_best_passage_ranks_first_then_the_supported_share() -> None:
    passages = [_passage(1), _passage(2), _passage(3)]
    from_best = support_rank([_sentence(True, 1), _sentence(False), _sentence(False)], passages)
    all_supported_elsewhere = support_rank([_sentence(True, 2), _sentence(True, 3)], passages)
    assert from_best == (1, 1 / 3) and all_supported_elsewhere == (0, 1.0)
    assert from_best > all_supported_elsewhere
    assert support_rank([_sentence(None)], passages) == (0, 0.0), "nothing to check supports nothing"
    assert support_rank([], []) == (0, 0.0)


def test_the_note_says_which_draft_was_kept() -> None:
    assert choice_note(0, 3, [(1, 0.5), (0, 1.0), (1, 0.5)]) == (
        "wrote 3 drafts and kept the first (50% of its sentences found in your files): no other was better supported"
    )
    assert choice_note(2, 3, [(0, 0.0), (0, 1.0), (1, 0.5)]) == (
        "wrote 3 drafts and kept draft 3 (50% of its sentences found in your files, the first 0%)"
    )
