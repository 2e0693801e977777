"""The Insights page: answers over time per model, feedback and change tests, questions the files
did not cover, the library's topic map with its drift, and documents indexed twice (each group with
a button that forgets the copies, after asking). It only draws what the insights worker computed;
whatever cannot be computed yet is said in words."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QVBoxLayout, QWidget

from desktop.services.duplicates import DuplicateGroup, Duplicates
from desktop.services.insights import AnswerInsights, SetupChange
from desktop.services.library_insights import LibraryInsights
from desktop.services.stats import Rate
from desktop.services.topics import Topic
from desktop.ui import format as fmt
from desktop.ui.topic_map_view import TopicMapView, topic_color
from desktop.ui.widgets import PushButton, confirm, label
from desktop.workers.events import InsightsSnapshot
from desktop.workers.typed import carrying, relay

SHOWN_GROUPS = 50  # groups of copies listed on the page; `hearth duplicates` lists them all
METRIC_NAMES = {"thumbs_up": "thumbs up", "supported": "supported by the files", "not_covered": "not in your files"}


def rate_text(rate: Rate) -> str:
    if rate.rate is None or rate.low is None or rate.high is None:
        return "—"
    return f"{rate.rate:.0%} ({rate.low:.0%}–{rate.high:.0%}, n={rate.total})"


def p_text(p: float | None) -> str:
    return "" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


class DuplicateRow(QWidget):
    """One group of copies: which file is kept, which are copies, and a button forgetting them."""

    def __init__(self, group: DuplicateGroup, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = group
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        copies = ", ".join(f"{fmt.file_name(c.path)} ({c.held:.0%} of it)" for c in group.copies)
        self.text = label(f"{fmt.file_name(group.kept)} holds the text of {copies}", wrap=True)
        self.text.setToolTip("\n".join([f"kept: {group.kept}", *(f"copy: {c.path}" for c in group.copies)]))
        row.addWidget(self.text, 1)
        self.button = PushButton("Forget the copy" if len(group.copies) == 1 else "Forget the copies",
                                 tooltip="Remove the copies from the library; the files stay on disk")
        row.addWidget(self.button)


class InsightsPage(QWidget):
    refreshRequested = Signal()
    topicClicked = carrying(Topic)  # the chat asks only about its documents
    forgetRequested = carrying(tuple[str, ...])  # copies to remove from the library (the files stay)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.setSpacing(10)

        header = QHBoxLayout()
        header.addWidget(label("Insights", "PageTitle"))
        header.addStretch(1)
        refresh = PushButton("Refresh", tooltip="Compute the figures again")
        refresh.clicked.connect(self.refreshRequested)
        header.addWidget(refresh)
        layout.addLayout(header)

        layout.addWidget(label("Answers over time", "SectionTitle"))
        self.answers_note = label(wrap=True)
        layout.addWidget(self.answers_note)
        self.chart = QChart()
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(240)
        layout.addWidget(self.chart_view)
        self.models = label(wrap=True)
        self.models.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.models)

        layout.addWidget(label("Changes of model, settings or index", "SectionTitle"))
        self.changes = label(wrap=True)
        layout.addWidget(self.changes)
        layout.addWidget(label("Questions your files did not cover", "SectionTitle"))
        self.uncovered = label(wrap=True)
        self.uncovered.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.uncovered)
        self.query_drift = label(wrap=True)
        layout.addWidget(self.query_drift)

        layout.addWidget(label("Map of your library", "SectionTitle"))
        self.map_note = label("Computing the map…", wrap=True)
        layout.addWidget(self.map_note)
        self.map = TopicMapView()
        relay(self.map, "topicClicked", self, "topicClicked")
        layout.addWidget(self.map)
        self.drift = label(wrap=True)
        layout.addWidget(self.drift)

        layout.addWidget(label("Documents indexed twice", "SectionTitle"))
        self.duplicates_note = label("Looking for copies…", wrap=True)
        layout.addWidget(self.duplicates_note)
        self.duplicate_list = QVBoxLayout()
        layout.addLayout(self.duplicate_list)
        self.duplicate_rows: list[DuplicateRow] = []
        self._duplicates: Duplicates | None = None
        layout.addStretch(1)

    def show_snapshot(self, snapshot: InsightsSnapshot) -> None:
        self._show_answers(snapshot.answers)
        if snapshot.library is not None:
            self._show_library(snapshot.library)

    # -- answers ----------------------------------------------------------------------------------
    def _show_answers(self, insights: AnswerInsights) -> None:
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        if insights.unavailable:
            self.answers_note.setText(insights.unavailable)
            self.chart_view.hide()
            self.models.setText("")
        else:
            self.answers_note.setText(f"{insights.answers:,} answers, {insights.rated:,} rated. "
                                      "Daily medians of the time to the first word, per model.")
            self._draw_timings(insights)
            self.models.setText("\n".join(
                f"{m.model}: {m.answers:,} answers · first word "
                f"{_ms(m.time_to_first_token_ms)} · whole answer {_ms(m.total_ms)} · "
                f"{_per_s(m.tokens_per_second)} · retrieval {_ms(m.retrieval_ms)}\n"
                f"    supported {rate_text(m.supported)} · thumbs up {rate_text(m.thumbs_up)} · "
                f"not in your files {rate_text(m.not_covered)}"
                for m in insights.models
            ))
        self.changes.setText("\n".join(_change_text(c) for c in insights.changes) or "No change recorded yet.")
        self.uncovered.setText("\n".join(
            f"• {q.question}" + (f"  (best match {q.confidence:.2f})" if q.confidence is not None else "")
            for q in insights.low_confidence
        ) or "None: every question found passages close to it.")
        drift = insights.query_drift
        self.query_drift.setText("Questions against the library: " + (drift.unavailable or (
            f"this month's best retrieval scores (median {drift.recent_median:.2f}) "
            f"{'differ from' if drift.drifted else 'are in line with'} earlier ones ({drift.earlier_median:.2f}), "
            f"{p_text(drift.p_value)}."
        )))

    def _draw_timings(self, insights: AnswerInsights) -> None:
        days = [d for d in insights.daily if d.time_to_first_token_ms is not None]
        if not days:
            self.chart_view.hide()
            return
        self.chart_view.show()
        x_axis, y_axis = QDateTimeAxis(), QValueAxis()
        x_axis.setFormat("d MMM")
        y_axis.setTitleText("ms")
        y_axis.setLabelFormat("%.0f")
        self.chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        models = list(dict.fromkeys(d.model for d in days))
        for i, model in enumerate(models):
            series = QLineSeries()
            series.setName(model)
            series.setPointsVisible(True)
            series.setColor(topic_color(i))
            for day in (d for d in days if d.model == model):
                when = QDateTime.fromSecsSinceEpoch(int(dt.datetime.fromisoformat(day.day).timestamp()))
                series.append(float(when.toMSecsSinceEpoch()), float(day.time_to_first_token_ms or 0))
            self.chart.addSeries(series)
            series.attachAxis(x_axis)
            series.attachAxis(y_axis)
        first = min(dt.datetime.fromisoformat(d.day) for d in days)
        last = max(dt.datetime.fromisoformat(d.day) for d in days)
        x_axis.setRange(QDateTime.fromSecsSinceEpoch(int(first.timestamp()) - 43200),
                        QDateTime.fromSecsSinceEpoch(int(last.timestamp()) + 43200))
        y_axis.setRange(0, max(d.time_to_first_token_ms or 0 for d in days) * 1.15)

    # -- library ----------------------------------------------------------------------------------
    def _show_library(self, library: LibraryInsights) -> None:
        topic_map = library.map
        self.map.set_map(topic_map)
        self.map.setVisible(bool(topic_map.topics))
        if topic_map.unavailable:
            self.map_note.setText(topic_map.unavailable)
        else:
            chosen = max(topic_map.candidates, key=lambda c: c.silhouette, default=None)
            why = f", the count with the best silhouette ({chosen.silhouette:.2f})" if chosen else ""
            self.map_note.setText(
                f"{len(topic_map.topics)} topics in {topic_map.passages:,} passages{why}. "
                "Hover a topic for its documents; click it to ask only about them."
            )
        test = library.drift.test
        grew = "; ".join(
            f"{'new' if g.appeared else 'grew'}: {g.label} ({g.existing_share:.0%} → {g.new_share:.0%})"
            for g in library.drift.grew
        )
        self.drift.setText("The last indexing run: " + (test.unavailable or (
            f"{'unlike' if test.drifted else 'like'} the rest of the library "
            f"(classifier AUC {test.auc:.2f}, {p_text(test.p_value)})." + (f" {grew}." if grew else "")
        )))
        self._show_duplicates(library.duplicates)

    def _show_duplicates(self, duplicates: Duplicates) -> None:
        if duplicates == self._duplicates:
            return  # the same figures again (the answers were refreshed): rows and their state stay
        self._duplicates = duplicates
        for row in self.duplicate_rows:
            row.setParent(None)
            row.deleteLater()
        self.duplicate_rows = []
        groups = duplicates.groups
        if duplicates.unavailable:
            self.duplicates_note.setText(duplicates.unavailable)
        elif not groups:
            self.duplicates_note.setText(f"None: no two of the {fmt.count(duplicates.documents, 'document')} "
                                         "hold the same text.")
        else:
            more = (f" The {SHOWN_GROUPS} with the most copied text are listed; `hearth duplicates` lists all."
                    if len(groups) > SHOWN_GROUPS else "")
            self.duplicates_note.setText(
                f"{fmt.count(len(groups), 'group')} of documents hold the same text. Forgetting a copy removes it "
                f"from the library, not from the disk.{more}"
            )
        for group in groups[:SHOWN_GROUPS]:
            row = DuplicateRow(group)
            row.button.clicked.connect(lambda _checked=False, r=row: self._forget(r))
            self.duplicate_list.addWidget(row)
            self.duplicate_rows.append(row)

    def _forget(self, row: DuplicateRow) -> None:
        copies = [c.path for c in row.group.copies]
        text = (f"Forget {', '.join(copies)} from the library?\n\nKept: {row.group.kept}, which holds the same "
                "text. The files themselves are not deleted.")
        if confirm(self, "Forget the copy" if len(copies) == 1 else "Forget the copies", text, "Forget"):
            row.button.setEnabled(False)
            row.button.setText("Forgetting…")
            self.forgetRequested.emit(tuple(copies))


def _ms(value: float | None) -> str:
    return "—" if value is None else (f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms")


def _per_s(value: float | None) -> str:
    return "— tokens/s" if value is None else f"{value:.1f} tokens/s"


def _change_text(change: SetupChange) -> str:
    when = dt.datetime.fromtimestamp(change.changed_at).strftime("%d %b %Y %H:%M")
    head = f"{when}: {', '.join(change.changes)} ({change.before_answers} answers before, {change.after_answers} after)"
    if change.unavailable:
        return f"{head}\n    {change.unavailable}"
    lines = [head]
    for metric in change.metrics:
        verdict = (f"a real difference, {p_text(metric.adjusted_p)}" if metric.significant else
                   (f"no significant difference, {p_text(metric.adjusted_p)}" if metric.adjusted_p is not None
                    else "too few to test"))
        lines.append(f"    {METRIC_NAMES[metric.metric]}: {rate_text(metric.before)} → {rate_text(metric.after)}: "
                     f"{verdict}")
    return "\n".join(lines)
