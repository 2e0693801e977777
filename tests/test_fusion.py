from __future__ import annotations

from desktop.services.evaluation import QuestionResult, compare, summarize
from desktop.services.keywords import has_identifier, query_terms, required_terms
from desktop.services.retrieval import cap_per_document, convex_fusion, normalise
from desktop.store.registry import fts_any


def test_query_terms_drop_stop_words_and_keep_identifiers() -> None:
    terms = query_terms("How does my app get SQLITE_READONLY_DBMOVED when it writes?")
    assert terms == ["app", "sqlite_readonly_dbmoved", "writes"]


def test_fts_query_quotes_terms_and_handles_empty() -> None:
    assert fts_any(query_terms('what is "NEAR" AND x')) == '"near"'
    assert fts_any(['say "hi"', "x"]) == '"say ""hi""" OR "x"'
    assert query_terms("how is it?") == []


def test_required_terms_are_the_uncommon_ones_or_the_rarest() -> None:
    assert required_terms({"kettle": 900, "descaling": 3, "citric": 40, "absent": 0}, 1000) == ["descaling", "citric"]
    assert required_terms({"kettle": 900, "water": 300, "absent": 0}, 1000) == ["water"]
    assert required_terms({"absent": 0}, 1000) == []


def test_identifiers_are_recognised() -> None:
    assert has_identifier("What does KX-409 mean?") and has_identifier("PRAGMA cell_size_check")
    assert has_identifier("sqlite3_close_v2() versus sqlite3_close()")
    assert not has_identifier("How do I speed up inserts into a SQL database?")


def test_normalise_and_convex_fusion() -> None:
    assert normalise([(1, 0.9), (2, 0.5), (3, 0.1)]) == {1: 1.0, 2: 0.5, 3: 0.0}
    assert normalise([(7, 3.2)]) == {7: 1.0}
    vector = [(1, 0.80), (2, 0.79), (3, 0.40)]
    keyword = [(3, 12.0), (9, 2.0)]
    fused = convex_fusion(vector, keyword, 0.7)
    assert fused[0][0] == 1 and fused[0][2] == ("vector",)
    assert {item for item, _, found in fused if found == ("vector", "keyword")} == {3}
    assert convex_fusion(vector, keyword, 0.2)[0][0] == 3  # keyword-heavy weighting flips the order
    assert [item for item, _, _ in convex_fusion(vector, [], 0.7)] == [1, 2, 3]


def test_cap_per_document() -> None:
    ranked = [(1, 0.9, ("vector",)), (2, 0.8, ("vector",)), (3, 0.7, ("vector",)), (4, 0.6, ("vector",))]
    kept = cap_per_document(ranked, {1: 10, 2: 10, 3: 10, 4: 20}, 2)
    assert [item for item, _, _ in kept] == [1, 2, 4]


def test_summary_and_paired_comparison() -> None:
    a = [QuestionResult(id=str(i), kind="k", rank=None if i % 2 else 1) for i in range(20)]
    b = [QuestionResult(id=str(i), kind="k", rank=1) for i in range(20)]
    summary = summarize(a)
    assert summary["recall@1"] == 0.5 and summary["mrr"] == 0.5
    low, high = summary["ci95"]["recall@1"]  # type: ignore[index]
    assert low < 0.5 < high
    difference = compare(a, b)["recall@1"]
    assert difference.difference == 0.5 and difference.better == 10 and difference.worse == 0
    assert difference.ci95[0] > 0 and difference.p_value < 0.01
    assert difference.verdict() == "better (significant)"
    few = compare(a[:4], b[:4])["recall@1"]  # two wins out of four: the interval may exclude zero
    assert few.p_value > 0.05 and "significant" in few.verdict() and "(significant)" not in few.verdict()
    same = compare(a, a)["recall@5"]
    assert same.difference == 0 and same.p_value == 1.0 and same.verdict().startswith("no significant")
