"""Approval of a writing tool by a person who answers from another thread (the window's card).

The agent's thread waits in ``__call__`` until ``decide`` is called, Stop (``cancel``) is pressed,
or the timeout passes; no answer in time counts as a rejection, so an unattended window never
writes anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from desktop.core.types import Approval
from desktop.services.agent import PendingCall


class WaitingApprover:
    def __init__(self, timeout_s: Callable[[], float], on_pending: Callable[[PendingCall], None]) -> None:
        """``timeout_s``: read at each call (the live setting); ``on_pending``: show the card (any thread)."""
        self.timeout_s = timeout_s
        self.on_pending = on_pending
        self._decided = threading.Event()
        self._decision = Approval.REJECTED

    def __call__(self, pending: PendingCall) -> Approval:
        self._decided.clear()
        self._decision = Approval.REJECTED
        self.on_pending(pending)
        if not self._decided.wait(self.timeout_s()):
            return Approval.TIMED_OUT
        return self._decision

    def decide(self, decision: Approval) -> None:
        """From any thread: USER, USER_FOR_CHAT or REJECTED."""
        self._decision = decision
        self._decided.set()

    def cancel(self) -> None:
        self.decide(Approval.REJECTED)
