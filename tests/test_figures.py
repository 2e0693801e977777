"""A passage supports a sentence only if it holds the figures the sentence states."""

from __future__ import annotations

import pytest

from desktop.services.figures import figures, held, unstated

SOURCE = "Rule 33: the inspector reads gauge G33 and logs it as R231. Released 2024-01-30; wait ten minutes."


@pytest.mark.parametrize(("sentence", "missing"), [
    ("The inspector logs gauge G33 as R231.", set()),
    ("The inspector logs gauge G33 as R275.", {"r275"}),  # the model's own figure: not in the files
    ("It was released in 2024, on 2024-01-30.", set()),  # a date holds its year
    ("It was released on 2024-02-30.", {"2024-02-30"}),
    ("Wait 10 minutes.", set()),  # the passage's number word counts
    ("1. Rule 33 applies to one gauge.", set()),  # a list's numbering, and "one" as a word, state nothing
    ("Run git-rebase(1) after rule 33.", set()),  # a manual page's section neither
    ("Call sqlite3_open for gauge G33.", {"sqlite3_open"}),
    ("Gauge G33\x1b]0;title\x07 is logged\x1b[2J.", set()),  # terminal codes are not text
])
def test_the_figures_a_passage_does_not_hold(sentence: str, missing: set[str]) -> None:
    assert unstated(sentence, held(SOURCE)) == missing


def test_the_questions_own_figures_need_no_passage_and_grouping_does_not_matter() -> None:
    assert unstated("Gauge G99 is not in the rules.", held(SOURCE, "What about gauge G99?")) == set()
    assert figures("The limit is 32,767 columns (2\u202f000 by default).") == {"32767", "2000"}
    assert unstated("The limit is 32,767 columns.", held("at most 32767 columns")) == set()
