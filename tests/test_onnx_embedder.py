"""The int8 ONNX embedder: the same vectors as sentence-transformers on real passages, a set-up that makes
the same file again (and again when its source changes), a clear message for a damaged file, torch when
the file is missing, and a rebuilt index when the runtime changes."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop import fetch_models
from desktop.core.errors import ModelError
from desktop.core.hashing import sha256_of
from desktop.core.manifest import MANIFEST_FILE, RECORD_FILE, DerivedRecord, load_manifest
from desktop.core.settings import HearthSettings, IndexSettings
from desktop.ingest.chunker import model_token_limit
from desktop.ingest.parsing import ChunkingConfig, parse_one
from desktop.services.documents import parser_config
from desktop.services.indexing import Indexer
from desktop.services.workspace import Workspace
from desktop.store.embedder import Embedder, TorchEmbedder, load_embedder, runtime_for
from desktop.store.onnx_embedder import OnnxEmbedder
from tests.conftest import MODELS
from tests.test_indexing import CountingEmbedder

NAME = "all-MiniLM-L6-v2"
SQLITE_DOCS = Path("/usr/share/doc/sqlite3")  # installed by `make system` (the dev corpus)
REPO = Path(__file__).resolve().parents[1]
TORCH = HearthSettings(index=IndexSettings(embedder_runtime="torch"))


def _sqlite_passages(folder: Path, wanted: int) -> list[str]:
    """What indexing embeds: the project's own parser and chunker on real pages, passages with their context."""
    settings = HearthSettings()
    index = settings.index
    config = parser_config(settings, ChunkingConfig(
        tokenizer_folder=folder, max_tokens=index.chunk_tokens, overlap=index.chunk_overlap,
        context_tokens=model_token_limit(folder) - index.chunk_tokens,
    ))
    texts: list[str] = []
    for page in sorted(SQLITE_DOCS.glob("*.html"))[::3]:
        outcome = parse_one(page, config)
        assert outcome.parsed is not None
        texts += [chunk.embedding_text() for chunk in outcome.parsed.chunks[:6]]
    assert len(texts) >= wanted, "the SQLite documentation is missing (make system installs sqlite3-doc)"
    return texts[:wanted]


def _varied_texts(passages: list[str]) -> list[str]:
    """Questions, code, other scripts, and passages far past the model's 256 word-pieces (cut the same way)."""
    rng = random.Random(7)
    words = " ".join(passages).split()
    return [
        "How do I set a busy timeout?", "WAL", "sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);",
        "Le café est fermé le dimanche, à Zürich comme à Kraków.", "東京の天気は晴れです。", "   padded   question  ",
        *(" ".join(rng.choice(words) for _ in range(rng.randint(300, 600))) for _ in range(12)),
        *(" ".join(rng.choice(words) for _ in range(rng.randint(3, 40))) for _ in range(22)),
    ]


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers_on_real_passages(
    embedder: Embedder, torch_embedder: TorchEmbedder, embedder_folder: Path
) -> None:
    assert isinstance(embedder, OnnxEmbedder), "set-up (`make models`) did not make the ONNX embedder"
    passages = _sqlite_passages(embedder_folder, 300)
    texts = passages + _varied_texts(passages)
    onnx, reference = embedder.embed(texts), torch_embedder.embed(texts)
    assert onnx.shape == reference.shape and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(onnx * reference, axis=1)
    assert cosines.mean() >= 0.99, cosines.mean()
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.97, (cosines[worst], texts[worst][:200])
    # Each text is embedded on its own: a question alone gets the vector it gets within a batch.
    assert np.allclose(embedder.embed([texts[5]])[0], onnx[5], atol=1e-5)


def _models_copy(tmp_path: Path) -> Path:
    """A models folder with the embedder (linked, never written) and a manifest naming only it and its ONNX file."""
    models = tmp_path / "models"
    models.mkdir()
    (models / NAME).symlink_to(MODELS / NAME, target_is_directory=True)
    manifest = json.loads((MODELS / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["models"] = [entry for entry in manifest["models"] if entry["name"] == NAME]
    (models / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return models


def _onnx_folder(models: Path) -> Path:
    derived = load_manifest(models).derived_from(NAME, "onnx-int8")
    assert derived is not None
    return models / derived.path


@pytest.mark.slow
def test_set_up_makes_the_same_file_and_makes_it_again_when_its_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made_by_set_up = DerivedRecord.model_validate_json((_onnx_folder(MODELS) / RECORD_FILE).read_text())
    models = _models_copy(tmp_path)
    monkeypatch.setenv("HEARTH_MODELS", str(models))
    assert fetch_models.main() == 0
    folder = _onnx_folder(models)
    record = DerivedRecord.model_validate_json((folder / RECORD_FILE).read_text())
    assert record == made_by_set_up, "the export is not reproducible"
    assert sha256_of(folder / "model.onnx") == record.sha256
    assert "made and verified" in capsys.readouterr().out

    assert fetch_models.main() == 0
    assert "present and verified" in capsys.readouterr().out  # nothing made twice

    # The fetched model changed (a new version in the manifest): the ONNX file is made again from it.
    stale = record.model_copy(update={"source_sha256": {**record.source_sha256, "model.safetensors": "0" * 64}})
    (folder / RECORD_FILE).write_text(stale.model_dump_json())
    (folder / "model.onnx").write_bytes(b"made from the old model")
    assert fetch_models.main() == 0
    assert "made and verified" in capsys.readouterr().out
    assert DerivedRecord.model_validate_json((folder / RECORD_FILE).read_text()) == record


@pytest.mark.parametrize("damage", ["changed bytes", "record of those bytes", "no record"])
def test_a_damaged_onnx_file_is_a_clear_message(tmp_path: Path, damage: str) -> None:
    models = _models_copy(tmp_path)
    folder = _onnx_folder(models)
    shutil.copytree(_onnx_folder(MODELS), folder)
    (folder / "model.onnx").write_bytes(b"\x08\x07 not a model")
    if damage == "record of those bytes":  # the checksum agrees, ONNX Runtime cannot read it
        record = DerivedRecord.model_validate_json((folder / RECORD_FILE).read_text())
        (folder / RECORD_FILE).write_text(record.model_copy(update={"sha256": sha256_of(folder / "model.onnx")})
                                          .model_dump_json())
    if damage == "no record":
        (folder / RECORD_FILE).unlink()
    assert runtime_for(models, NAME, "onnx-int8") == "onnx-int8"  # present: never silently torch instead
    with pytest.raises(ModelError, match=r"make models"):
        load_embedder(models, NAME, "onnx-int8", batch_size=16)


def test_hearth_index_with_a_damaged_onnx_file_says_so_without_a_traceback(
    tmp_path: Path, corpus: Path, hearth_home: Path
) -> None:
    models = _models_copy(tmp_path)
    shutil.copytree(_onnx_folder(MODELS), _onnx_folder(models))
    (_onnx_folder(models) / "model.onnx").write_bytes(b"damaged")
    env = {**os.environ, "HEARTH_HOME": str(hearth_home), "HEARTH_MODELS": str(models)}
    run = subprocess.run([sys.executable, "-m", "desktop", "index", str(corpus)], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=300)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "does not match its SHA-256 checksum" in run.stderr
    assert "make models" in run.stderr


def test_a_missing_onnx_file_falls_back_to_torch_and_says_so(
    tmp_path: Path, hearth_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = _models_copy(tmp_path)  # set-up not run: no ONNX file
    with caplog.at_level(logging.WARNING, logger="hearth.embedder"):
        workspace = Workspace(hearth_home, models_dir=models)
        assert workspace.embedder_runtime == "torch"
    assert any("ONNX embedder" in r.message and "make models" in r.message for r in caplog.records)
    assert isinstance(workspace.embedder, TorchEmbedder)
    assert workspace.index_signature()["embedder_runtime"] == "torch"  # so its vectors are never taken for ONNX ones
    workspace.close()


def test_switching_the_runtime_rebuilds_the_vectors(
    workspace: Workspace, corpus: Path, hearth_home: Path, torch_embedder: TorchEmbedder
) -> None:
    Indexer(workspace).index([corpus])
    assert workspace.registry.get_meta("index_signature")["embedder_runtime"] == "onnx-int8"
    chunks = workspace.registry.counts()["chunks"]
    with_torch = Workspace(hearth_home, settings=TORCH, models_dir=MODELS)
    counting = CountingEmbedder(torch_embedder)
    with_torch.embedder = counting  # type: ignore[assignment]
    assert with_torch.rebuild_needed
    Indexer(with_torch).index([corpus])
    assert counting.texts == chunks, "every passage is embedded again, none kept from the other runtime"
    assert not with_torch.rebuild_needed and workspace.rebuild_needed
    with_torch.close()


def test_an_index_from_before_the_runtime_setting_was_made_with_torch(workspace: Workspace) -> None:
    old = {key: value for key, value in workspace.index_signature().items() if key != "embedder_runtime"}
    workspace.registry.set_meta("index_signature", old)
    assert workspace.rebuild_needed  # the default now runs ONNX
    with_torch = Workspace(workspace.data_dir, settings=TORCH, models_dir=MODELS)
    assert not with_torch.rebuild_needed
    with_torch.close()


def test_indexing_and_searching_import_neither_torch_nor_sentence_transformers(corpus: Path, hearth_home: Path) -> None:
    script = (
        "import sys; from desktop import cli\n"
        f"codes = [cli.main(['index', '--quiet', {str(corpus)!r}]), cli.main(['search', 'kettle limescale'])]\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sentence_transformers', 'transformers'})\n"
        "print(codes, heavy)\n"
    )
    env = {**os.environ, "HEARTH_HOME": str(hearth_home)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert run.stdout.splitlines()[-1] == "[0, 0] []", run.stdout + run.stderr


def test_without_torch_the_torch_runtime_is_a_clear_message(
    embedder_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as in the bundle, which leaves it out
    with pytest.raises(ModelError, match=r"torch is not installed here.*index.embedder_runtime to onnx-int8"):
        TorchEmbedder(embedder_folder)
