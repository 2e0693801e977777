"""Show one answer in a fresh process whose memory is capped, and print its text (used by test_untrusted_text).

The cap leaves ``headroom_mb`` above what the process uses once Qt is up: an answer that made Qt
read ``/dev/zero`` would run into it and crash the probe instead of the machine.
"""

from __future__ import annotations

import os
import resource
import sys

from desktop.app import create_application
from desktop.core.types import Message, MessageStatus
from desktop.ui.message_widget import AnswerMessage


def main(markdown: str, headroom_mb: int) -> None:
    app = create_application()
    with open("/proc/self/statm", encoding="ascii") as statm:
        used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = used + headroom_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    answer = AnswerMessage(Message(
        id=1, conversation_id=1, role="assistant", text=markdown, created_at=0.0, status=MessageStatus.COMPLETE,
    ))
    answer.resize(600, 300)
    answer.show()
    app.processEvents()
    answer.grab()  # paints it, as the screen would
    print(answer.body.toPlainText())


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
