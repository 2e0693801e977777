"""A guard against a reference-count bug in some PySide6 builds on Python 3.11.

In those builds every call of a C++ method returning void drops a reference to None, and every
signal emission drops one to True, without having taken it. On Python 3.12+ both singletons are
immortal and nothing happens; on 3.11 their counts only shrink while the app runs, and when one
reaches zero the interpreter aborts ("deallocating None"), at the latest when it exits. If this
build has the bug, the guard does what Python 3.12 does: it makes the two singletons immortal by
giving them a reference count no leak can exhaust. (They are static objects, never freed.)
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("hearth.ui")

IMMORTAL = 1 << 40  # references added: at a million leaks a second, enough for 35 years
PROBES = 64


class _Probe(QObject):
    ping = Signal()


def leaking_singletons() -> list[object]:
    """Which of None and True this PySide6 build drops references to."""
    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(PROBES):
        probe.setObjectName("probe")  # a method returning void
        probe.ping.emit()
    after = sys.getrefcount(None), sys.getrefcount(True)
    return [obj for obj, was, now in zip((None, True), before, after, strict=True) if was - now >= PROBES // 2]


def guard_singletons() -> list[object]:
    """Make the singletons this build leaks immortal; returns them (nothing on a sound build)."""
    if sys.version_info >= (3, 12):
        return []  # immortal already
    leaking = leaking_singletons()
    for singleton in leaking:
        if sys.getrefcount(singleton) > IMMORTAL:
            continue  # guarded already (a second window in the same process)
        # ob_refcnt is the first field of every object, and id() is its address in CPython.
        ctypes.c_ssize_t.from_address(id(singleton)).value += IMMORTAL
    if leaking:
        log.warning("This PySide6 build leaks references to %s; made them immortal", leaking)
    return leaking
