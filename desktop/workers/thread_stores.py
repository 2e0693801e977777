"""A worker's conversation store and workspace, opened on first use and closed together.

SQLite connections belong to the thread that opened them, so each worker opens its own, in its own
thread, when the first request needs them (a request can arrive before the worker's ``start``).
"""

from __future__ import annotations

import logging

from desktop.services.conversations import ConversationStore
from desktop.services.home import Home
from desktop.services.workspace import Workspace

log = logging.getLogger("hearth.workers")


class ThreadStores:
    def __init__(self, home: Home, *, writes: bool = False) -> None:
        self._home = home
        self._writes = writes
        self._conversations: ConversationStore | None = None
        self._workspace: Workspace | None = None

    def conversations(self) -> ConversationStore:
        if self._conversations is None:
            self._conversations = self._home.conversations()
        return self._conversations

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = self._home.workspace(writes=self._writes)
        return self._workspace

    def close(self) -> None:
        """Close what was opened; a failure is logged, never raised (the thread is stopping)."""
        try:
            if self._conversations is not None:
                self._conversations.close()
            if self._workspace is not None:
                self._workspace.close()
        except Exception:
            log.exception("closing a worker's stores")
