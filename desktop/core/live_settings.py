"""The one live copy of a data folder's settings, shared by every thread that uses the folder."""

from __future__ import annotations

import threading
from collections.abc import Callable

from desktop.core.settings import HearthSettings

Listener = Callable[[HearthSettings], None]


class LiveSettings:
    """Readers always get the newest settings (``value``); ``replace`` announces a change to the
    listeners, in the thread that made it. Saving is the caller's business: an override for one
    run (an evaluation's fixed seed) is never written to ``settings.json``."""

    def __init__(self, value: HearthSettings) -> None:
        self._value = value
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    @property
    def value(self) -> HearthSettings:
        return self._value  # replaced whole, never changed in place: one reference read, no lock

    def replace(self, value: HearthSettings) -> None:
        with self._lock:
            self._value = value
            listeners = list(self._listeners)
        for listener in listeners:
            listener(value)

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)
