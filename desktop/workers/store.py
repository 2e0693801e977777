"""The store thread: conversation list and history, library listing, model catalogue, settings file.

Quick queries only, so the chat list stays responsive while the engine thread is busy answering and
the indexing thread is busy embedding. It has its own SQLite connections (WAL lets them read while
the other threads write).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Slot

from desktop.core.model_info import ModelInfo
from desktop.core.picked import remember_picked
from desktop.core.private import write_private_text
from desktop.core.settings import HearthSettings, save_settings
from desktop.llm.crash_marks import crashed_models
from desktop.services import export
from desktop.services.home import Home
from desktop.services.models import add_model, available_models
from desktop.workers.errors import reported
from desktop.workers.events import (
    ConversationContent,
    ConversationList,
    ExportRequest,
    LibrarySnapshot,
    ModelCatalog,
    Problem,
    RenameRequest,
)
from desktop.workers.thread_stores import ThreadStores
from desktop.workers.threads import quit_current_thread
from desktop.workers.typed import carrying


class StoreWorker(QObject):
    conversations = carrying(ConversationList)
    opened = carrying(ConversationContent)
    deleted = carrying(int)  # the conversation id
    library = carrying(LibrarySnapshot)
    models = carrying(ModelCatalog)
    model_added = carrying(ModelInfo)
    exported = carrying(Path)
    settings_saved = carrying(HearthSettings)
    problem = carrying(Problem)

    def __init__(self, home: Home) -> None:
        super().__init__()
        self._home = home
        self._stores = ThreadStores(home, writes=True)
        self._search = ""

    @Slot()
    @reported("library")
    def start(self) -> None:
        self.list_conversations(self._search)
        self.refresh_library()
        self.list_models()

    # -- conversations --------------------------------------------------------------------------
    @Slot(object)
    @reported("chat")
    def list_conversations(self, search: str) -> None:
        self._search = search
        found = self._stores.conversations().list(search.strip() or None)
        self.conversations.emit(ConversationList(search=search, conversations=tuple(found)))

    @Slot(object)
    @reported("chat")
    def open_conversation(self, conversation_id: int) -> None:
        store = self._stores.conversations()
        self.opened.emit(ConversationContent(
            conversation=store.get(conversation_id), messages=tuple(store.messages(conversation_id))
        ))

    @Slot(object)
    @reported("chat")
    def rename_conversation(self, request: RenameRequest) -> None:
        self._stores.conversations().rename(request.conversation_id, request.title)
        self.list_conversations(self._search)

    @Slot(object)
    @reported("chat")
    def delete_conversation(self, conversation_id: int) -> None:
        self._stores.conversations().delete(conversation_id)
        self.deleted.emit(conversation_id)
        self.list_conversations(self._search)

    @Slot(object)
    @reported("export")
    def export_conversation(self, request: ExportRequest) -> None:
        store = self._stores.conversations()
        if request.format == "json":
            text = export.export_json(store, request.conversation_id).model_dump_json(indent=2)
        else:
            text = export.export_markdown(store, request.conversation_id)
        write_private_text(request.target, text, temp=request.target.with_name(request.target.name + ".part"))
        self.exported.emit(request.target)

    # -- library and models ---------------------------------------------------------------------
    @Slot()
    @reported("library")
    def refresh_library(self) -> None:
        registry = self._stores.workspace().registry
        self.library.emit(LibrarySnapshot(
            documents=tuple(registry.documents()), roots=tuple(registry.roots()),
            passages=registry.counts()["chunks"],
        ))

    @Slot()
    @reported("model")
    def list_models(self) -> None:
        workspace = self._stores.workspace()
        models = available_models(workspace)
        crashed = frozenset(crashed_models(self._home.data_dir))
        self.models.emit(ModelCatalog(models=tuple(models), crashed=crashed))

    @Slot(object)
    @reported("model")
    def add_model(self, path: str) -> None:
        info = add_model(self._stores.workspace(), Path(path))
        self.model_added.emit(info)
        self.list_models()

    # -- settings -------------------------------------------------------------------------------
    @Slot(object)
    @reported("settings")
    def save_settings(self, settings: HearthSettings) -> None:
        # Settings come here from the window only, so their adapters are the user's own picks.
        remember_picked(adapters=_adapters(settings))
        save_settings(self._home.data_dir, settings)
        self.settings_saved.emit(settings)

    @Slot()
    def close(self) -> None:
        try:
            self._stores.close()
        finally:
            quit_current_thread()



def _adapters(settings: HearthSettings) -> list[str]:
    generations = [settings.generation, *settings.model_overrides.values()]
    return [g.lora_path for g in generations if g.lora_path is not None]
