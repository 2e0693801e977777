"""Checking backend settings before they are saved: each server they name is opened as a question or an
index run would open it (reachable, the right protocol, the token or key accepted, vectors the embedder
matches). ``hearth backends`` and the settings dialog's "Test connection" run this same check."""

from __future__ import annotations

from pathlib import Path

from desktop.core.backends import endpoint
from desktop.core.settings import HearthSettings
from desktop.core.types import Frozen
from desktop.llm.openai_host import OpenAIHost
from desktop.services.home import Home


class BackendCheck(Frozen):
    """What answered: a vector server's address, a model server's model (None: that part is local)."""

    vectors: str | None = None
    model: str | None = None

    @property
    def summary(self) -> str:
        """One sentence for the person who asked."""
        parts = []
        if self.vectors is not None:
            parts.append(f"the Chroma server at {self.vectors} answered")
        if self.model is not None:
            parts.append(f"the model server offers {self.model}")
        if not parts:
            return "Vectors and model both stay on this computer: there is nothing to connect to."
        sentence = " and ".join(parts)
        return sentence[0].upper() + sentence[1:] + "."


def check_backends(data_dir: Path, models_dir: Path, settings: HearthSettings) -> BackendCheck:
    """Open what ``settings`` name without making them the folder's; a problem raises a HearthError
    whose message is one sentence. Nothing is written to the settings file."""
    home = Home(data_dir, models_dir=models_dir, settings=settings)
    backends = settings.backends
    vectors = None
    if backends.vector_server is not None:
        workspace = home.workspace()
        try:
            workspace.check_vectors()
        finally:
            workspace.close()
        vectors = str(endpoint(backends.vector_server))
    model = None
    if backends.model_server is not None:
        host = OpenAIHost(backends)
        try:
            model = str(host.connect(settings.generation).name)
        finally:
            host.close()
    return BackendCheck(vectors=vectors, model=model)
