"""Any text a model writes survives citation parsing, and citations name only passages it was given."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from desktop.core.types import Passage
from desktop.services.citations import resolve

FUZZ = settings(max_examples=300, deadline=None, database=None)
GIVEN = [
    Passage(n=n, chunk_id=10 + n, document_id=n, path=f"/docs/{n}.pdf", page=n, text="text", score=1.0)
    for n in (1, 2, 3)
]
# Answers built from what trips a citation parser: brackets, commas, and runs of digits of any length.
PIECES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["[", "]", ",", ", ", " ", "[1]", "[2, 3]", "[0]"]),
    st.integers(min_value=0, max_value=10**7).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda length: "7" * length),
)


@FUZZ
@example("[" + "7" * 5000 + "]")
@example("See [1, " + "0" * 4400 + "3].")
@given(st.lists(PIECES, max_size=30).map("".join))
def test_resolve_never_raises_and_cites_only_given_passages(answer: str) -> None:
    text, citations, marked, removed = resolve(answer, GIVEN)
    by_number = {p.n: p for p in GIVEN}
    assert all((c.path, c.page) == (by_number[c.n].path, by_number[c.n].page) for c in citations)
    assert len({c.n for c in citations}) == len(citations)
    assert {p.n for p in marked if p.cited} == {c.n for c in citations}
    assert not set(removed) & set(by_number)
    assert len(text) <= len(answer)
