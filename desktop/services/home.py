"""One data folder, opened once: the only place its settings, stores, model catalogue and
answerer are put together. The command line, the window's workers, the self-test and the
benchmarks all open a folder through ``Home``.

Threads: a ``Home`` is shared; what it opens belongs to the thread that opened it (SQLite
connections do), so each worker asks for its own workspace or conversations. The settings are one
live copy (``LiveSettings``) that every workspace of the folder reads.
"""

from __future__ import annotations

from pathlib import Path

from desktop.core import paths
from desktop.core.live_settings import LiveSettings
from desktop.core.settings import HearthSettings, load_settings, save_settings
from desktop.llm import host as model_host
from desktop.llm.openai_host import AnswerHost, OpenAIHost
from desktop.services.answering import Answerer, AnswerPipeline
from desktop.services.conversations import ConversationStore
from desktop.services.workspace import VECTORS_DIR, Workspace
from desktop.store.vector_host import VectorHost

CONVERSATIONS_FILE = "conversations.sqlite3"
INSIGHTS_DIR = "insights"  # the topic map's clustering, kept for incremental updates


class Home:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        models_dir: Path | None = None,
        settings: HearthSettings | None = None,
        vectors_in_child: bool = False,
    ) -> None:
        """``settings``: this run's, instead of the folder's ``settings.json``. ``vectors_in_child``: the
        embedded vectors are served by a child process (the window's choice, see ``vector_host``)."""
        self.data_dir = data_dir or paths.data_dir()
        self.models_dir = models_dir or paths.models_dir()
        self.settings = LiveSettings(settings or load_settings(self.data_dir))
        self.vector_host = VectorHost(self.data_dir / VECTORS_DIR) if vectors_in_child else None

    @property
    def insights_dir(self) -> Path:
        return self.data_dir / INSIGHTS_DIR

    def workspace(self, *, writes: bool = False) -> Workspace:
        """``writes``: this thread will change the folder, so it takes the folder's lock."""
        return Workspace(
            self.data_dir, settings=self.settings, models_dir=self.models_dir, exclusive=writes,
            vector_host=self.vector_host,
        )

    def conversations(self, path: Path | None = None) -> ConversationStore:
        """The folder's conversations, or (``path``) a store of chats that are not the user's."""
        return ConversationStore(path or self.data_dir / CONVERSATIONS_FILE)

    def answerer(
        self,
        *,
        workspace: Workspace | None = None,
        conversations: ConversationStore | None = None,
        host: AnswerHost | None = None,
        pipeline: AnswerPipeline | None = None,
    ) -> Answerer:
        """An answerer with its own model host; parts already open in this thread can be passed in."""
        return Answerer(
            workspace or self.workspace(writes=True),
            conversations or self.conversations(),
            host or self.model_host(),
            pipeline,
        )

    def model_host(self) -> AnswerHost:
        """The settings' model: the server they name, else the local host process."""
        backends = self.settings.value.backends
        if backends.model_server is not None:
            return OpenAIHost(backends)
        return model_host.ModelHost(data_dir=self.data_dir)

    def save_settings(self, settings: HearthSettings) -> None:
        """Make ``settings`` the folder's: on disk first (a refusal changes nothing), then live."""
        save_settings(self.data_dir, settings)
        self.settings.replace(settings)

    def close(self) -> None:
        """End what the folder's threads share (the vector host); their own stores they close themselves."""
        if self.vector_host is not None:
            self.vector_host.close()
