"""Start Hearth's stores as a restart would, and report their state as JSON (used by test_crash)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from desktop.services.conversations import ConversationStore
from desktop.services.integrity import check
from desktop.services.workspace import Workspace


def main(home: Path) -> None:
    workspace = Workspace(home, exclusive=True)  # settles what a crash interrupted
    report = check(workspace)
    store = ConversationStore(home / "conversations.sqlite3")
    messages = [m.model_dump(mode="json") for c in store.list() for m in store.messages(c.id)]
    print(json.dumps({"check": report.model_dump(mode="json"), "messages": messages}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
