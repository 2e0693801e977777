"""Signals that name what they carry, checked where they are connected.

A payload crossing threads is declared ``Signal(object)`` (Qt would otherwise try to convert
dataclasses and pydantic models), so mypy sees neither end of the boundary that most needs
checking. ``carrying(kind)`` records the payload's type next to the signal, and ``link`` refuses a
slot whose annotated parameter cannot take it, when the window is wired: every test that builds
the window checks every boundary, and a mismatch is a clear TypeError rather than a wrong value
arriving in another thread.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

# By id: Signal's own comparison drops a reference to False in PySide6 on Python 3.11 (see
# desktop/ui/refcount_guard.py). The signal is kept alongside, so its id is never reused.
_KINDS: dict[int, tuple[Signal, object]] = {}


def carrying(kind: object) -> Signal:
    """A signal with one argument of type ``kind`` (a class, a union or a generic alias); the name
    of a class of the same module for a signal carrying its own class."""
    signal = Signal(object)
    _KINDS[id(signal)] = (signal, kind)
    return signal


def signal_kinds(klass: type[QObject]) -> dict[str, object]:
    """What each signal of ``klass`` declared with ``carrying`` carries, by name (inherited ones too)."""
    kinds: dict[str, object] = {}
    for owner in reversed(klass.__mro__):
        for name, declared in vars(owner).items():
            if _is_signal(declared) and id(declared) in _KINDS:
                kind = _KINDS[id(declared)][1]
                kinds[name] = vars(sys.modules[owner.__module__])[kind] if isinstance(kind, str) else kind
    return kinds


def kind_of(source: QObject, name: str) -> object:
    """What ``source``'s signal ``name`` carries; TypeError for a ``Signal(object)`` that does not say."""
    kinds = signal_kinds(type(source))
    if name in kinds:
        return kinds[name]
    if _is_signal(getattr(type(source), name, None)):
        raise TypeError(f"{type(source).__name__}.{name} is not declared with carrying(kind)")
    raise AttributeError(f"{type(source).__name__} has no signal {name!r}")


def link(source: QObject, **slots: Callable[..., object]) -> None:
    """Connect ``source``'s signals by name to slots whose first parameter accepts what they carry."""
    for name, slot in slots.items():
        kind = kind_of(source, name)
        _check_slot(slot, kind, f"{type(source).__name__}.{name}")
        getattr(source, name).connect(slot)


def relay(source: QObject, name: str, target: QObject, target_name: str) -> None:
    """Forward a signal to another object's signal of the same kind."""
    kind, target_kind = kind_of(source, name), kind_of(target, target_name)
    if kind != target_kind:
        raise TypeError(
            f"{type(source).__name__}.{name} carries {_name(kind)}, "
            f"{type(target).__name__}.{target_name} {_name(target_kind)}"
        )
    getattr(source, name).connect(getattr(target, target_name))


def accepts(annotation: object, kind: object) -> bool:
    """Whether a parameter annotated ``annotation`` takes every value of type ``kind``."""
    if annotation in (Any, object) or annotation == kind:
        return True
    if _is_union(kind):
        return all(accepts(annotation, part) for part in typing.get_args(kind))
    if _is_union(annotation):
        return any(accepts(part, kind) for part in typing.get_args(annotation))
    if typing.get_origin(annotation) is not None or typing.get_origin(kind) is not None:
        return False  # generics match only exactly (tuple[str, ...] is not tuple[int, ...])
    if kind is None:
        return annotation is type(None)
    return isinstance(kind, type) and isinstance(annotation, type) and issubclass(kind, annotation)


def _check_slot(slot: Callable[..., object], kind: object, where: str) -> None:
    parameters = [
        p for p in inspect.signature(slot).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if not parameters:
        raise TypeError(f"{where} carries {_name(kind)}, but {_slot_name(slot)} takes no argument")
    try:
        hints = typing.get_type_hints(inspect.unwrap(getattr(slot, "__func__", slot)))
    except NameError as exc:  # an annotation only imported for type checking
        raise TypeError(f"{_slot_name(slot)}: its annotation cannot be resolved ({exc})") from None
    first = parameters[0]
    if first.name not in hints:
        raise TypeError(f"{_slot_name(slot)} takes {where} ({_name(kind)}): annotate its parameter {first.name!r}")
    if not accepts(hints[first.name], kind):
        raise TypeError(
            f"{where} carries {_name(kind)}, but {_slot_name(slot)} takes {_name(hints[first.name])}"
        )


def _is_union(annotation: object) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _name(kind: object) -> str:
    return kind.__name__ if isinstance(kind, type) else str(kind)


def _slot_name(slot: Callable[..., object]) -> str:
    return getattr(slot, "__qualname__", repr(slot))


def _is_signal(value: object) -> bool:
    # Not isinstance(): Signal's instance check drops a reference to False on PySide6 + Python 3.11.
    return type(value) is Signal
