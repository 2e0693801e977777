"""Answer insights from stored messages: rates with intervals, changes flagged only when significant,
query drift, and what is said when there is too little to compute."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from desktop.core.errors import UsageError
from desktop.core.types import AnswerSetup, Feedback, MessageStatus, SentenceSupport, Timings
from desktop.services.conversations import NOT_COVERED_NOTE, ConversationStore
from desktop.services.export import export_json
from desktop.services.insights import answer_insights
from desktop.services.stats import holm, permutation_p, rate

DAY = 86400.0
OLD = AnswerSetup(model="old.gguf", generation="g1", index="100@1")
NEW = AnswerSetup(model="new.gguf", generation="g1", index="100@1")


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite3")


def answer(
    store: ConversationStore,
    setup: AnswerSetup,
    *,
    feedback: Feedback | None = None,
    supported: bool = True,
    confidence: float = 0.7,
    covered: bool = True,
    question: str = "What is in my notes?",
    age_days: float = 0.0,
) -> int:
    chat = store.create()
    store.add_user_message(chat.id, question)
    answer_id = store.start_answer(chat.id, setup.model if covered else None)
    store.finish_answer(
        answer_id, text="An answer.", status=MessageStatus.COMPLETE,
        timings=Timings(retrieval_ms=12, time_to_first_token_ms=150, generated_tokens=40, tokens_per_second=20,
                        total_ms=2100),
        sentences=[SentenceSupport(start=0, end=10, supported=supported)] if covered else [],
        notes=[] if covered else [f"{NOT_COVERED_NOTE} (best similarity 0.30, 0.45 needed)"],
        confidence=confidence, setup=setup,
    )
    if feedback is not None:
        store.set_feedback(answer_id, feedback)
    if age_days:
        store.db.execute("UPDATE messages SET created_at = ? WHERE id = ?", (time.time() - age_days * DAY, answer_id))
    return answer_id


def test_nothing_recorded_says_so(store: ConversationStore) -> None:
    report = answer_insights(store, now=time.time())
    assert report.answers == 0
    assert report.unavailable and "No answers yet" in report.unavailable
    assert report.query_drift.unavailable


def test_feedback_is_stored_with_the_answer_and_exported(store: ConversationStore) -> None:
    answer_id = answer(store, OLD, feedback=Feedback.UP)
    message = store.message(answer_id)
    assert message.feedback is Feedback.UP and message.setup == OLD and message.confidence == pytest.approx(0.7)
    exported = export_json(store, message.conversation_id).model_dump(mode="json")
    assert exported["messages"][1]["feedback"] == "up"
    assert store.set_feedback(answer_id, None).feedback is None
    with pytest.raises(UsageError, match="only answers"):
        store.set_feedback(answer_id - 1, Feedback.DOWN)


def test_per_model_figures_with_intervals(store: ConversationStore) -> None:
    for i in range(12):
        answer(store, OLD, feedback=Feedback.UP if i < 9 else Feedback.DOWN, supported=i % 2 == 0)
    answer(store, OLD, covered=False, confidence=0.2, question="Where is the boiler manual?")
    report = answer_insights(store, now=time.time())
    (model,) = report.models
    assert model.model == "old.gguf" and model.answers == 13
    assert model.time_to_first_token_ms == 150 and model.tokens_per_second == 20
    assert (model.thumbs_up.hits, model.thumbs_up.total) == (9, 12)
    assert model.thumbs_up.low is not None and model.thumbs_up.high is not None
    assert model.thumbs_up.low < 0.75 < model.thumbs_up.high
    assert (model.supported.hits, model.supported.total) == (6, 12)
    assert (model.not_covered.hits, model.not_covered.total) == (1, 13)
    assert [q.question for q in report.low_confidence] == ["Where is the boiler manual?"]
    assert report.daily and report.daily[0].answers == 12


def test_a_worse_model_is_flagged_with_its_p_value(store: ConversationStore) -> None:
    for i in range(40):
        answer(store, OLD, feedback=Feedback.UP if i < 36 else Feedback.DOWN)
    for i in range(40):
        answer(store, NEW, feedback=Feedback.UP if i < 12 else Feedback.DOWN)
    (change,) = answer_insights(store, now=time.time()).changes
    assert change.changes == ["model old.gguf → new.gguf"]
    thumbs = next(m for m in change.metrics if m.metric == "thumbs_up")
    assert thumbs.significant and thumbs.adjusted_p is not None and thumbs.adjusted_p < 0.01
    assert not any(m.significant for m in change.metrics if m.metric != "thumbs_up")


def test_noise_is_not_flagged(store: ConversationStore) -> None:
    for setup in (OLD, NEW):
        for i in range(30):
            answer(store, setup, feedback=Feedback.UP if i % 3 else Feedback.DOWN, supported=i % 4 != 0)
    (change,) = answer_insights(store, now=time.time()).changes
    assert change.unavailable is None
    assert all(m.p_value is not None and not m.significant for m in change.metrics)


def test_ten_answers_are_too_few_to_compare(store: ConversationStore) -> None:
    for setup in (OLD,) * 5 + (NEW,) * 5:
        answer(store, setup, feedback=Feedback.UP)
    (change,) = answer_insights(store, now=time.time()).changes
    assert change.unavailable and "10 on each side" in change.unavailable
    assert change.metrics == []


def test_missing_feedback_leaves_that_metric_untested(store: ConversationStore) -> None:
    for setup in (OLD,) * 15 + (NEW,) * 15:
        answer(store, setup)
    (change,) = answer_insights(store, now=time.time()).changes
    thumbs = next(m for m in change.metrics if m.metric == "thumbs_up")
    assert thumbs.before.total == 0 and thumbs.p_value is None and not thumbs.significant


def test_query_drift_compares_this_month_with_before(store: ConversationStore) -> None:
    for i in range(20):
        answer(store, OLD, confidence=0.75 + i * 0.005, age_days=60)
    for i in range(20):
        answer(store, OLD, confidence=0.45 + i * 0.005)
    drift = answer_insights(store, now=time.time()).query_drift
    assert drift.drifted and drift.p_value is not None and drift.p_value < 0.001
    assert drift.recent_median is not None and drift.earlier_median is not None
    assert drift.recent_median < drift.earlier_median


def test_statistics() -> None:
    assert rate(0, 0).rate is None
    assert permutation_p(rate(5, 10), rate(5, 10)) == 1.0
    assert permutation_p(rate(50, 50), rate(0, 50)) < 0.001
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
