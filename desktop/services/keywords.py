"""The keyword side of hybrid search: a sensible FTS5 query from a question in plain words.

An OR of every word lets common words ("how", "does", "my") flood the ranking, which made a
naive hybrid worse than vectors alone. So: stop words and one-letter words are dropped, each
remaining term is quoted (FTS5 syntax in a question cannot break the query), and bm25's IDF
then weighs the rare terms — names, identifiers, error codes — that vectors tend to miss.

Scoring is what costs: FTS5 finds the rows holding a term in a millisecond but computes bm25 for
every one of them, and a term found in half of 100k passages made a search take 150 ms. So, as
Lucene's common-terms query does, a passage must hold one of the question's uncommon terms to be
scored; common terms then only add to its score. Passages that hold nothing but common terms
would score near zero anyway (bm25's IDF of a term in half the passages is about 0).
"""

from __future__ import annotations

import re

_TERM = re.compile(r"\w+", re.UNICODE)

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been before
    being below between both but by can cannot could couldn did didn do does doesn doing don down during
    each either else ever every few for from further get gets getting give given go goes going got had
    hadn has hasn have haven having he her here hers herself him himself his how however i if in into
    is isn it its itself just keep kind know let like make makes many may me might mine more most much
    must my myself need needs neither no nor not now of off often on once one only or other ought our
    ours ourselves out over own per please rather really same say says see seem seems shall she should
    shouldn since so some something still such take tell than that the their theirs them themselves
    then there these they thing things this those though through thus to too under until up upon us
    use used uses using very want wants was wasn way we well were weren what whatever when where
    whether which while who whom whose why will with within without won would wouldn yes yet you your
    yours yourself yourselves
    """.split()
)


def query_terms(question: str) -> list[str]:
    """Distinct content words of the question, in order, lower-cased."""
    terms: list[str] = []
    for word in _TERM.findall(question):
        term = word.lower()
        if term in STOP_WORDS or (len(term) < 2 and not term.isdigit()) or term in terms:
            continue
        terms.append(term)
    return terms


# A term in more than this share of the passages is common (bm25's IDF below ~2.9, against
# ~11 for a term found once in 100k passages).
COMMON_SHARE = 0.05


def required_terms(passages_with: dict[str, int], passages: int) -> list[str]:
    """The terms a passage must hold one of to be scored: the uncommon ones or, when every term
    is common, the rarest. Terms no passage holds are left out."""
    present = sorted((term for term, count in passages_with.items() if count), key=lambda t: passages_with[t])
    uncommon = [term for term in present if passages_with[term] <= COMMON_SHARE * passages]
    return uncommon or present[:1]


def is_identifier(term: str) -> bool:
    """A term with a digit or an underscore: a code (kx 409), a version, sqlite3, a snake_case name."""
    return any(char.isdigit() or char == "_" for char in term)
