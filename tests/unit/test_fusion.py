from __future__ import annotations

from desktop.services.evaluation import QuestionResult, compare, summarize
from desktop.services.keywords import is_identifier, query_terms, required_terms
from desktop.services.ranking import (
    Fused,
    RankedDocument,
    above_floor,
    collapse_duplicates,
    pick_passages,
    rank_documents,
    rrf,
)
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


def test_reciprocal_rank_fusion_weighs_ranks_not_scores() -> None:
    vector = [(1, 0.80), (2, 0.79), (3, 0.40)]
    keyword = [(3, 12.0), (9, 2.0)]
    fused = rrf({"vector": vector, "keyword": keyword}, {"vector": 1.0, "keyword": 0.5})
    assert [item for item, _, _ in fused] == [3, 1, 2, 9]  # found by both beats either alone
    assert fused[0][2] == ("vector", "keyword") and fused[1][2] == ("vector",)
    assert fused[0][1] == 1 / 63 + 0.5 / 61
    # A keyword score a thousand times larger changes nothing: only ranks count.
    louder = rrf({"vector": vector, "keyword": [(3, 12000.0), (9, 2.0)]}, {"keyword": 0.5})
    assert louder == fused
    assert [item for item, _, _ in rrf({"vector": vector, "keyword": []}, {})] == [1, 2, 3]


def test_a_document_with_several_good_passages_outranks_one_lucky_passage() -> None:
    fused: Fused = [(1, 1.0, ()), (2, 0.9, ()), (3, 0.8, ()), (4, 0.7, ())]
    documents = rank_documents(fused, {1: 10, 2: 20, 3: 20, 4: 20}, damping=0.5)
    assert [(d.document, round(d.score, 3)) for d in documents] == [(20, 1.475), (10, 1.0)]
    assert documents[0].passages == ((2, 0.9), (3, 0.8), (4, 0.7))
    # Without damping the sum would be a count of passages; with none, only the best counts.
    assert [d.document for d in rank_documents(fused, {1: 10, 2: 20, 3: 20, 4: 20}, damping=0.0)] == [10, 20]


def _document(document: int, *passages: int) -> RankedDocument:
    return RankedDocument(document, 1.0 / document, tuple((p, 0.0) for p in passages))


def test_copies_of_one_text_collapse_into_the_best_ranked_one() -> None:
    page = "Automatically force-update any branches that point to commits that are being rebased, as git does."
    other = "Something else entirely, about the index file format and its extensions, written at length here."
    texts = {1: page, 5: other, 2: other.replace("Something", "Nothing"), 3: "= git-rebase(1) =\n" + page,
             6: "The worktree prune command removes stale administrative files left by deleted folders.",
             4: "See git-config(1)."}
    documents = [_document(1, 1, 5), _document(2, 2), _document(3, 3), _document(4, 4), _document(7, 6)]
    groups = collapse_duplicates(documents, texts)
    # 3 copies the best passage of 1; 2 copies its second one; 4 is too short to call a copy.
    assert [[d.document for d in group] for group in groups] == [[1, 2, 3], [4], [7]]
    # Only the first group wanted: the copies ranked below still join it, nothing else is grouped.
    assert [[d.document for d in group] for group in collapse_duplicates(documents, texts, limit=1)] == [[1, 2, 3]]


def test_a_document_that_copies_another_as_a_whole_joins_it_whatever_passages_were_retrieved() -> None:
    texts = {n: " ".join(f"word{n}x{i}" for i in range(15)) for n in range(1, 8)}  # no words in common
    documents = [_document(1, 1), _document(2, 2), _document(3, 3), _document(4, 4), _document(5, 5)]
    # 2 copies 1 (its source, cut elsewhere); 5 copies 3's original text the other way round; 4 and 6 both
    # copy document 9, which was not retrieved: two parts of one text are not copies of each other.
    originals = {2: 1, 3: 5, 4: 9, 6: 9}
    groups = collapse_duplicates([*documents, _document(6, 6)], texts, originals=originals)
    assert [[d.document for d in group] for group in groups] == [[1, 2], [3, 5], [4], [6]]
    assert [[d.document for d in group] for group in collapse_duplicates(documents, texts)] == [[1], [2], [3], [4], [5]]


def test_best_passage_of_each_document_first_then_more_of_the_top_ones() -> None:
    groups = [[_document(1, 11, 12, 13), _document(5, 51)], [_document(2, 21, 22)]]
    picks = pick_passages(groups, 5, per_document=2)
    assert [(p.passage, p.copies) for p in picks] == [(11, (5,)), (12, ()), (21, ()), (22, ())]
    assert [p.passage for p in pick_passages(groups, 2, per_document=2)] == [11, 21]  # one each first
    assert [p.passage for p in pick_passages(groups, 5, per_document=1)] == [11, 21]


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


def test_identifiers_are_terms_with_digits_or_underscores() -> None:
    assert [t for t in query_terms("What does KX-409 mean in sqlite3_close_v2 and tidy v2?") if is_identifier(t)] == [
        "409", "sqlite3_close_v2", "v2"
    ]


def test_vector_candidates_far_below_the_best_are_no_evidence() -> None:
    assert above_floor([(1, 0.45), (2, 0.30), (3, 0.06), (4, -0.1)], 0.5) == [(1, 0.45), (2, 0.30)]
    assert above_floor([(1, -0.2), (2, -0.3)], 0.5) == [(1, -0.2)]  # nothing is close: the best, alone
    assert above_floor([], 0.5) == []
