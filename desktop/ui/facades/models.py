"""Models and settings: the engine's state, the model catalogue, and the live settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.core.model_info import ModelInfo
from desktop.core.settings import GenerationSettings, HearthSettings
from desktop.services.home import Home
from desktop.workers.engine import EngineWorker
from desktop.workers.events import EngineStatus, ModelCatalog, ModelChoice
from desktop.workers.store import StoreWorker
from desktop.workers.typed import carrying, link, relay


class ModelsFacade(QObject):
    status = carrying(EngineStatus)
    catalog = carrying(ModelCatalog)
    added = carrying(ModelInfo)
    settingsSaved = carrying(HearthSettings)
    applied = carrying(HearthSettings)  # the live settings changed (saved or not): what the window shows follows

    _use = carrying(ModelChoice)
    _reload = carrying(HearthSettings)
    _list = Signal()
    _add = carrying(str)
    _save = carrying(HearthSettings)

    def __init__(self, home: Home, engine: EngineWorker, store: StoreWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._home = home
        self.current: EngineStatus | None = None
        link(self, _use=engine.use_model, _reload=engine.apply_settings, _add=store.add_model,
             _save=store.save_settings)
        self._list.connect(store.list_models)
        link(engine, status=self._on_status)
        relay(store, "models", self, "catalog")
        relay(store, "model_added", self, "added")
        relay(store, "settings_saved", self, "settingsSaved")

    @property
    def settings(self) -> HearthSettings:
        return self._home.settings.value

    def refresh(self) -> None:
        self._list.emit()

    def add(self, path: Path) -> None:
        self._add.emit(str(path))

    def use(self, path: str, *, force: bool = False) -> None:
        """Load this model now and from now on; one inside the models folder is remembered by name."""
        self._use.emit(ModelChoice(path=path, force=force))
        inside = Path(path).parent.resolve() == self._home.models_dir.resolve()
        self.apply(self.settings.updated(default_model=Path(path).name if inside else path))

    def save_model_settings(self, file_name: str, generation: GenerationSettings) -> None:
        self.apply(self.settings.updated(model_overrides={file_name: generation}))

    def apply(self, settings: HearthSettings) -> None:
        """Make validated settings the live ones (every worker reads them), save them, and let the
        engine reload the model if they change it."""
        self._home.settings.replace(settings)
        self.applied.emit(settings)
        self._save.emit(settings)
        self._reload.emit(settings)

    def _on_status(self, status: EngineStatus) -> None:
        self.current = status
        self.status.emit(status)
