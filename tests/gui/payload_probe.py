"""Checks the sending end of every typed signal: each payload emitted must be what its signal declares."""

from __future__ import annotations

import threading
import types
import typing

from PySide6.QtCore import QObject

from desktop.workers.typed import signal_kinds


def conforms(value: object, kind: object) -> bool:
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return any(conforms(value, part) for part in typing.get_args(kind))
    if typing.get_origin(kind) is tuple:
        item, *rest = typing.get_args(kind)
        return isinstance(value, tuple) and rest == [Ellipsis] and all(conforms(v, item) for v in value)
    if kind is None:
        return value is None
    return isinstance(kind, type) and isinstance(value, kind)


class PayloadProbe:
    """Listens to every ``carrying`` signal of the given objects and records payloads of the wrong type."""

    def __init__(self, *sources: QObject) -> None:
        self.mismatches: list[str] = []
        self.seen = 0
        self._lock = threading.Lock()  # worker signals call the probe in their own threads
        for source in sources:
            for name, kind in signal_kinds(type(source)).items():
                getattr(source, name).connect(self._checker(f"{type(source).__name__}.{name}", kind))

    def _checker(self, where: str, kind: object) -> typing.Callable[[object], None]:
        def check(value: object) -> None:
            with self._lock:
                self.seen += 1
                if not conforms(value, kind):
                    self.mismatches.append(f"{where} carried {type(value).__name__}, declared {kind}")

        return check
