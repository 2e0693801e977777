"""Typed signals: a wrong slot is refused when wired, a wrong payload is caught when sent, and every
object-carrying signal in the app says what it carries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal

import desktop
from desktop.workers.events import IndexFinished, Problem
from desktop.workers.typed import accepts, carrying, kind_of, link, relay, signal_kinds
from tests.gui.payload_probe import PayloadProbe

# Emitting signals needs the app's guard against a PySide6 reference leak (desktop/ui/refcount_guard.py).
pytestmark = pytest.mark.usefixtures("hearth_app")


class Source(QObject):
    problem = carrying(Problem)
    paths = carrying(tuple[str, ...])
    maybe = carrying(int | None)
    itself = carrying("Source")
    untyped = Signal(object)


class Target(QObject):
    problem = carrying(Problem)
    other = carrying(IndexFinished)


def test_accepts_follows_the_annotation() -> None:
    assert accepts(Problem, Problem) and accepts(object, Problem)
    assert accepts(Problem | None, Problem) and accepts(int | None, int | None)
    assert not accepts(int, int | None)  # the slot would get a None it does not expect
    assert accepts(tuple[str, ...], tuple[str, ...]) and not accepts(tuple[int, ...], tuple[str, ...])
    assert not accepts(IndexFinished, Problem) and not accepts(str, Path)


def test_a_slot_of_the_right_type_is_connected_and_gets_the_payload() -> None:
    source, got = Source(), []

    def on_problem(problem: Problem) -> None:
        got.append(problem)

    link(source, problem=on_problem)
    source.problem.emit(Problem("chat", "x"))
    assert got == [Problem("chat", "x")]


def test_a_slot_of_another_type_is_refused_when_wired() -> None:
    def on_finished(finished: IndexFinished) -> None: ...

    with pytest.raises(TypeError, match=r"Source.problem carries Problem, but .*on_finished takes IndexFinished"):
        link(Source(), problem=on_finished)


def test_an_unannotated_or_argumentless_slot_is_refused() -> None:
    with pytest.raises(TypeError, match="annotate its parameter 'value'"):
        link(Source(), problem=lambda value: None)
    with pytest.raises(TypeError, match="takes no argument"):
        link(Source(), problem=lambda: None)


def test_undeclared_and_missing_signals_are_refused() -> None:
    with pytest.raises(TypeError, match=r"Source\.untyped is not declared with carrying"):
        kind_of(Source(), "untyped")
    with pytest.raises(AttributeError, match="no signal 'absent'"):
        kind_of(Source(), "absent")


def test_relay_needs_the_same_kind_on_both_ends() -> None:
    source, target = Source(), Target()
    got: list[Problem] = []
    relay(source, "problem", target, "problem")
    target.problem.connect(got.append)
    source.problem.emit(Problem("library", "y"))
    assert got == [Problem("library", "y")]
    with pytest.raises(TypeError, match=r"carries Problem, Target\.other IndexFinished"):
        relay(source, "problem", target, "other")


def test_a_class_can_name_itself() -> None:
    assert signal_kinds(Source)["itself"] is Source


def test_the_probe_catches_a_payload_of_the_wrong_type() -> None:
    source = Source()
    probe = PayloadProbe(source)
    source.paths.emit(("a", "b"))
    source.maybe.emit(None)
    assert probe.mismatches == [] and probe.seen == 2
    source.paths.emit(("a", 3))
    source.problem.emit("not a problem")
    assert probe.mismatches == [
        "Source.paths carried tuple, declared tuple[str, ...]",
        "Source.problem carried str, declared <class 'desktop.workers.events.Problem'>",
    ]


def test_every_signal_carrying_a_python_object_says_what_it_carries() -> None:
    """A bare ``Signal(object)`` anywhere but in carrying() itself is a boundary nothing checks."""
    package = Path(desktop.__file__).parent
    sources = [path for path in package.rglob("*.py") if path != package / "workers" / "typed.py"]
    untyped = [
        f"{path.relative_to(package)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"=\s*Signal\(object", line)
    ]
    assert len(sources) > 100 and untyped == []
