"""Answers over time, from the stored messages: speed per model, how often answers are supported by
the files, feedback, questions the library could not answer, whether a change of model, settings or
index made answers better or worse, and whether questions drift away from the library.

Every figure says when it cannot be computed yet (``unavailable``) instead of drawing noise."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence

from desktop.core.types import AnswerSetup, Feedback, Frozen
from desktop.services.conversations import AnswerRecord, ConversationStore
from desktop.services.stats import SIGNIFICANCE, Rate, holm, permutation_p, rank_p, rate

MIN_COMPARED = 10  # answers needed on each side of a change before it is tested
MIN_DRIFT = 10  # questions needed in each period before their retrieval scores are compared
RECENT_DAYS = 30
LOW_CONFIDENCE_SHOWN = 50
NO_MODEL = "(library records)"  # answers Hearth gave from its own records, with no model


class DailyTimings(Frozen):
    day: str  # YYYY-MM-DD, local time
    model: str
    answers: int
    time_to_first_token_ms: float | None
    total_ms: float
    tokens_per_second: float | None
    retrieval_ms: float


class ModelSummary(Frozen):
    model: str
    answers: int
    time_to_first_token_ms: float | None  # medians: a slow first load does not move them
    total_ms: float | None
    tokens_per_second: float | None
    retrieval_ms: float | None
    supported: Rate  # answers with a sentence supported by its cited passage, of those checked
    thumbs_up: Rate  # of the answers rated
    not_covered: Rate  # "your files do not seem to cover this", of all answers


class LowConfidenceQuestion(Frozen):
    answer_id: int
    conversation_id: int
    question: str
    confidence: float | None
    asked_at: float


class MetricChange(Frozen):
    metric: str
    before: Rate
    after: Rate
    p_value: float | None = None  # permutation test; None when either side has too few answers
    adjusted_p: float | None = None  # Holm-corrected over the metrics compared
    significant: bool = False


class SetupChange(Frozen):
    changed_at: float
    changes: list[str]
    before_answers: int
    after_answers: int
    metrics: list[MetricChange]
    unavailable: str | None = None


class QueryDrift(Frozen):
    recent: int
    earlier: int
    recent_median: float | None = None
    earlier_median: float | None = None
    p_value: float | None = None
    drifted: bool = False
    unavailable: str | None = None


class AnswerInsights(Frozen):
    answers: int
    rated: int
    models: list[ModelSummary]
    daily: list[DailyTimings]
    low_confidence: list[LowConfidenceQuestion]
    changes: list[SetupChange]
    query_drift: QueryDrift
    unavailable: str | None = None


def answer_insights(store: ConversationStore, *, now: float) -> AnswerInsights:
    records = store.answer_records()
    if not records:
        return AnswerInsights(
            answers=0, rated=0, models=[], daily=[], low_confidence=[], changes=[],
            query_drift=QueryDrift(recent=0, earlier=0, unavailable="No questions asked yet."),
            unavailable="No answers yet: ask a question and its timings appear here.",
        )
    return AnswerInsights(
        answers=len(records),
        rated=sum(r.feedback is not None for r in records),
        models=model_summaries(records),
        daily=daily_timings(records),
        low_confidence=low_confidence(records, store.question_of),
        changes=setup_changes(records),
        query_drift=query_drift(records, now=now),
    )


def model_of(record: AnswerRecord) -> str:
    """Renamed or not, the model that answered; a refusal has none, but the setup names the model loaded."""
    return record.model or (record.setup.model if record.setup and record.setup.model else None) or NO_MODEL


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _generated(records: Sequence[AnswerRecord]) -> list[AnswerRecord]:
    """Answers a model wrote (not refusals or library records), with their timings."""
    return [r for r in records if r.model is not None and r.timings is not None and not r.not_covered]


def model_summaries(records: Sequence[AnswerRecord]) -> list[ModelSummary]:
    by_model: dict[str, list[AnswerRecord]] = defaultdict(list)
    for record in records:
        by_model[model_of(record)].append(record)
    summaries = []
    for model, group in sorted(by_model.items(), key=lambda item: -len(item[1])):
        generated = _generated(group)
        summaries.append(ModelSummary(
            model=model, answers=len(group),
            time_to_first_token_ms=_median([r.timings.time_to_first_token_ms for r in generated if r.timings]),
            total_ms=_median([r.timings.total_ms for r in generated if r.timings]),
            tokens_per_second=_median([r.timings.tokens_per_second for r in generated if r.timings]),
            retrieval_ms=_median([r.timings.retrieval_ms for r in group if r.timings and r.timings.retrieval_ms]),
            **_rates(group),
        ))
    return summaries


def _rates(group: Sequence[AnswerRecord]) -> dict[str, Rate]:
    checked = [r for r in group if r.supported is not None]
    rated = [r for r in group if r.feedback is not None]
    return {
        "supported": rate(sum(bool(r.supported) for r in checked), len(checked)),
        "thumbs_up": rate(sum(r.feedback is Feedback.UP for r in rated), len(rated)),
        "not_covered": rate(sum(r.not_covered for r in group), len(group)),
    }


def daily_timings(records: Sequence[AnswerRecord]) -> list[DailyTimings]:
    """Per day and model, the medians: a chart of 10,000 answers stays a few hundred points."""
    buckets: dict[tuple[str, str], list[AnswerRecord]] = defaultdict(list)
    for record in _generated(records):
        day = dt.datetime.fromtimestamp(record.created_at).date().isoformat()
        buckets[(day, model_of(record))].append(record)
    days = []
    for (day, model), group in sorted(buckets.items()):
        timings = [r.timings for r in group if r.timings is not None]
        days.append(DailyTimings(
            day=day, model=model, answers=len(group),
            time_to_first_token_ms=_median([t.time_to_first_token_ms for t in timings]),
            total_ms=statistics.median(t.total_ms for t in timings),
            tokens_per_second=_median([t.tokens_per_second for t in timings]),
            retrieval_ms=statistics.median(t.retrieval_ms for t in timings),
        ))
    return days


def low_confidence(records: Sequence[AnswerRecord], question_of: Callable[[int], str]) -> list[LowConfidenceQuestion]:
    """The newest questions the files did not cover, each once: what the user may want to add."""
    found: list[LowConfidenceQuestion] = []
    seen: set[str] = set()
    for record in reversed(records):
        if not record.not_covered:
            continue
        question = question_of(record.id)
        key = " ".join(question.lower().split())
        if key in seen:
            continue
        seen.add(key)
        found.append(LowConfidenceQuestion(
            answer_id=record.id, conversation_id=record.conversation_id, question=question,
            confidence=record.confidence, asked_at=record.created_at,
        ))
        if len(found) == LOW_CONFIDENCE_SHOWN:
            break
    return found


def _fingerprint(setup: AnswerSetup) -> tuple[str | None, str, str]:
    return (setup.model, setup.generation, setup.index)


def setup_changes(records: Sequence[AnswerRecord], *, shown: int = 3) -> list[SetupChange]:
    """The latest changes of model, settings or index, each with the answers just before and after it
    compared; a difference is flagged only when its Holm-corrected permutation p-value is below 0.05."""
    with_setup = [r for r in records if r.setup is not None]
    epochs: list[list[AnswerRecord]] = []
    for record in with_setup:
        assert record.setup is not None
        if epochs and epochs[-1][-1].setup is not None and _fingerprint(epochs[-1][-1].setup) == _fingerprint(
            record.setup
        ):
            epochs[-1].append(record)
        else:
            epochs.append([record])
    changes = [_compare(before, after) for before, after in itertools.pairwise(epochs)]
    return list(reversed(changes))[:shown]


def _compare(before: list[AnswerRecord], after: list[AnswerRecord]) -> SetupChange:
    assert before[-1].setup is not None and after[0].setup is not None
    change = SetupChange(
        changed_at=after[0].created_at, changes=after[0].setup.differences(before[-1].setup),
        before_answers=len(before), after_answers=len(after), metrics=[],
    )
    if min(len(before), len(after)) < MIN_COMPARED:
        return change.model_copy(update={"unavailable": (
            f"{len(before)} answers before and {len(after)} after; {MIN_COMPARED} on each side are needed to compare."
        )})
    rates_before, rates_after = _rates(before), _rates(after)
    metrics = [
        MetricChange(metric=name, before=rates_before[name], after=rates_after[name])
        for name in ("thumbs_up", "supported", "not_covered")
    ]
    testable = [i for i, m in enumerate(metrics) if min(m.before.total, m.after.total) >= MIN_COMPARED]
    raw = [permutation_p(metrics[i].before, metrics[i].after) for i in testable]
    for i, p, adjusted in zip(testable, raw, holm(raw), strict=True):
        metrics[i] = metrics[i].model_copy(update={
            "p_value": p, "adjusted_p": adjusted, "significant": adjusted < SIGNIFICANCE,
        })
    return change.model_copy(update={"metrics": metrics})


def query_drift(records: Sequence[AnswerRecord], *, now: float) -> QueryDrift:
    """This month's questions' best retrieval scores against earlier ones (Mann-Whitney U)."""
    cutoff = now - RECENT_DAYS * 86400
    scored = [r for r in records if r.confidence is not None]
    recent = [r.confidence for r in scored if r.created_at >= cutoff and r.confidence is not None]
    earlier = [r.confidence for r in scored if r.created_at < cutoff and r.confidence is not None]
    drift = QueryDrift(recent=len(recent), earlier=len(earlier))
    if min(len(recent), len(earlier)) < MIN_DRIFT:
        return drift.model_copy(update={"unavailable": (
            f"{len(recent)} questions in the last {RECENT_DAYS} days and {len(earlier)} before; "
            f"{MIN_DRIFT} in each are needed."
        )})
    p = rank_p(recent, earlier)
    return drift.model_copy(update={
        "recent_median": statistics.median(recent), "earlier_median": statistics.median(earlier),
        "p_value": p, "drifted": p < SIGNIFICANCE,
    })
