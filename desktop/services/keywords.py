"""The keyword side of hybrid search: a sensible FTS5 query from a question in plain words.

An OR of every word lets common words ("how", "does", "my") flood the ranking, which made a
naive hybrid worse than vectors alone. So: stop words and one-letter words are dropped, each
remaining term is quoted (FTS5 syntax in a question cannot break the query), and bm25's IDF
then weighs the rare terms — names, identifiers, error codes — that vectors tend to miss.
"""

from __future__ import annotations

import re

_TERM = re.compile(r"\w+", re.UNICODE)
# snake_case names, letter-digit codes (KX-409, sqlite3, v2, 3DES): things to match exactly.
_IDENTIFIER = re.compile(r"\b\w*(?:_\w+|[A-Za-z]-?\d+|\d+-?[A-Za-z])\w*\b")

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


def fts_query(question: str) -> str | None:
    """An FTS5 MATCH expression, or None when the question has no content words."""
    terms = query_terms(question)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def has_identifier(question: str) -> bool:
    return _IDENTIFIER.search(question) is not None
