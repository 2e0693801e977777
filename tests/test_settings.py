from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.errors import HearthError
from desktop.core.picked import remember_picked
from desktop.core.settings import (
    HearthSettings,
    IndexSettings,
    RetrievalSettings,
    field_help,
    load_settings,
    rebuilding_fields,
    save_settings,
)


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.index.chunk_tokens <= 254
    assert settings.retrieval.hybrid is True
    assert settings.index.ocr is True


def test_ocr_can_be_turned_off_by_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"index": {"ocr": False}}))
    assert load_settings(tmp_path).index.ocr is False
    monkeypatch.setenv("HEARTH_INDEX__OCR", "true")
    assert load_settings(tmp_path).index.ocr is True


def test_file_then_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"retrieval": {"top_k": 7}, "index": {"chunk_tokens": 150}}))
    assert load_settings(tmp_path).retrieval.top_k == 7
    monkeypatch.setenv("HEARTH_RETRIEVAL__TOP_K", "9")
    settings = load_settings(tmp_path)
    assert settings.retrieval.top_k == 9
    assert settings.index.chunk_tokens == 150


def test_invalid_value_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"index": {"chunk_tokens": 999}}))
    with pytest.raises(HearthError, match=r"index\.chunk_tokens: Input should be less than or equal to 254"):
        load_settings(tmp_path)


def test_invalid_env_names_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_RETRIEVAL__TOP_K", "many")
    with pytest.raises(HearthError, match=r"retrieval\.top_k"):
        load_settings(tmp_path)


def test_unknown_field_and_bad_json_are_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"chunk_size": 10}))
    with pytest.raises(HearthError, match="chunk_size"):
        load_settings(tmp_path)
    (tmp_path / "settings.json").write_text("{not json")
    with pytest.raises(HearthError, match="not valid JSON"):
        load_settings(tmp_path)


def test_overlap_must_stay_below_half(tmp_path: Path) -> None:
    with pytest.raises(HearthError, match="chunk_overlap"):
        load_settings(tmp_path, index={"chunk_tokens": 100, "chunk_overlap": 60})


def test_save_keeps_only_changes_and_round_trips(tmp_path: Path) -> None:
    settings = HearthSettings(retrieval=RetrievalSettings(top_k=8))
    save_settings(tmp_path, settings)
    assert json.loads((tmp_path / "settings.json").read_text()) == {"retrieval": {"top_k": 8}}
    assert load_settings(tmp_path).retrieval.top_k == 8


def test_a_file_from_before_the_groups_still_loads_and_is_saved_grouped(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"top_k": 7, "chunk_tokens": 150, "hybrid": False}))
    settings = load_settings(tmp_path)
    assert (settings.retrieval.top_k, settings.retrieval.hybrid, settings.index.chunk_tokens) == (7, False, 150)
    save_settings(tmp_path, settings.updated(default_model="other.gguf"))
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "default_model": "other.gguf", "index": {"chunk_tokens": 150}, "retrieval": {"hybrid": False, "top_k": 7}
    }


def test_field_metadata_says_what_rebuilds_and_describes_each_field() -> None:
    assert rebuilding_fields() == ["embedder", "embedder_runtime", "chunk_tokens", "chunk_overlap"]
    assert field_help(IndexSettings, "chunk_tokens") == "Word pieces per passage (32–254)"
    assert field_help(RetrievalSettings, "hybrid") == "Combine keyword and meaning search"
    undescribed = [
        f"{group.__name__}.{name}" for group in (IndexSettings, RetrievalSettings)
        for name, field in group.model_fields.items() if not field.description
    ]
    assert undescribed == []


def test_index_signature_tracks_what_vectors_depend_on() -> None:
    default = HearthSettings().index_signature()
    assert HearthSettings(retrieval=RetrievalSettings(top_k=3)).index_signature() == default
    assert HearthSettings(index=IndexSettings(chunk_tokens=120)).index_signature() != default
    assert HearthSettings(index=IndexSettings(embedder_runtime="torch")).index_signature() != default
    # The same keys as before the groups existed: an index only rebuilds when a value changed.
    assert default == {"embedder": "all-MiniLM-L6-v2", "embedder_runtime": "onnx-int8", "chunk_tokens": 200,
                       "chunk_overlap": 32, "embedding_text": "title-heading-context-1"}


# -- a data folder's own settings cannot switch protections off ----------------------------------
REPO = Path(__file__).resolve().parents[1]


HOME = "{home}"  # replaced by the data folder's path
HOSTILE = [  # (the field named in the refusal, a value that lifts a protection)
    ("index.parse_timeout_s", {"index": {"parse_timeout_s": 1e12}}),
    ("index.parse_memory_mb", {"index": {"parse_memory_mb": 1e8}}),
    ("index.max_file_mb", {"max_file_mb": 1e9}),  # as written before the groups existed
    ("index.embedder", {"index": {"embedder": f"{HOME}/evil-embedder"}}),
    ("index.embedder", {"embedder": "../../evil-embedder"}),
    ("default_model", {"default_model": f"{HOME}/evil.gguf"}),
    ("default_model", {"default_model": "../evil.gguf"}),
    ("generation.lora_path", {"generation": {"lora_path": f"{HOME}/evil.gguf"}}),
    ("model_overrides.small.gguf.lora_path", {"model_overrides": {"small.gguf": {"lora_path": f"{HOME}/evil.gguf"}}}),
    ("model_overrides.../evil.gguf", {"model_overrides": {"../evil.gguf": {"temperature": 0.5}}}),
]


@pytest.mark.parametrize(("field", "hostile"), HOSTILE)
def test_a_hostile_value_is_refused_by_the_cli_with_the_fields_name(
    field: str, hostile: dict[str, object], hearth_home: Path
) -> None:
    """A data folder's own settings.json must not lift a limit nor load a model from anywhere (here
    files in the hostile folder itself): `hearth status` refuses it, naming the field, and keeps it."""
    hearth_home.mkdir(parents=True)
    (hearth_home / "evil.gguf").write_bytes(b"GGUF" + bytes(60))
    (hearth_home / "evil-embedder").mkdir()
    (hearth_home / "evil-embedder" / "modules.json").write_text("[]", encoding="utf-8")
    text = json.dumps(hostile).replace(HOME, str(hearth_home))
    (hearth_home / "settings.json").write_text(text, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "desktop", "status"], capture_output=True, text=True,
                            env={**os.environ, "HEARTH_HOME": str(hearth_home)}, cwd=REPO, timeout=120)
    assert result.returncode == 2, result.stdout
    assert f"Invalid setting: {field}" in result.stderr and "Traceback" not in result.stderr
    assert (hearth_home / "settings.json").read_text(encoding="utf-8") == text


def test_bounds_leave_room_for_real_use(tmp_path: Path) -> None:
    generous = {"index": {"parse_timeout_s": 600, "parse_memory_mb": 16_384, "max_file_mb": 4096,
                          "embedder": "my-embedder"},
                "generation": {"gpu_layers": -1, "top_k": 0, "seed": 2**32 - 1, "context_length": 131_072},
                "default_model": "Qwen2.5-7B-Instruct-Q4_K_M.gguf"}
    (tmp_path / "settings.json").write_text(json.dumps(generous))
    settings = load_settings(tmp_path)
    assert settings.index.parse_timeout_s == 600 and settings.generation.context_length == 131_072


def test_files_picked_in_the_window_may_be_named_by_full_path(tmp_path: Path) -> None:
    model, adapter = str(tmp_path / "elsewhere" / "big.gguf"), str(tmp_path / "elsewhere" / "style.gguf")
    chosen = {"default_model": model, "model_overrides": {"big.gguf": {"lora_path": adapter}}}
    (tmp_path / "settings.json").write_text(json.dumps(chosen))
    with pytest.raises(HearthError, match=r"default_model.*model_overrides\.big\.gguf\.lora_path"):
        load_settings(tmp_path)
    remember_picked(models=[model], adapters=[adapter])
    settings = load_settings(tmp_path)
    assert settings.default_model == model and settings.generation_for("big.gguf").lora_path == adapter


def test_an_invalid_settings_file_is_never_saved_over(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"retrieval": {"top_k": 7}, "index": {"parse_timeout_s": 1e12}}))
    before = (tmp_path / "settings.json").read_bytes()
    with pytest.raises(HearthError, match=r"not saved.*parse_timeout_s"):
        save_settings(tmp_path, HearthSettings(retrieval=RetrievalSettings(top_k=8)))
    assert (tmp_path / "settings.json").read_bytes() == before


def test_an_older_list_in_the_data_folder_is_ignored_said_once_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Older versions kept the picked files in the data folder's models.json: it no longer counts (the
    folder could list its own files), the log says so once, and the file is left as it is."""
    model = str(tmp_path / "elsewhere" / "big.gguf")
    (tmp_path / "settings.json").write_text(json.dumps({"default_model": model}))
    (tmp_path / "models.json").write_text(json.dumps({"paths": [model]}))
    with caplog.at_level(logging.INFO, logger="hearth.models"):
        for _ in range(2):
            with pytest.raises(HearthError, match="default_model"):
                load_settings(tmp_path)
    told = [r for r in caplog.records if "models.json" in r.getMessage() and r.levelno == logging.INFO]
    assert len(told) == 1 and "add them again" in told[0].getMessage()
    assert json.loads((tmp_path / "models.json").read_text()) == {"paths": [model]}


def test_an_environment_override_is_never_written_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"top_k": 6, "generation": {"temperature": 0.5}}))
    monkeypatch.setenv("HEARTH_RETRIEVAL__TOP_K", "8")
    monkeypatch.setenv("HEARTH_GENERATION__MAX_TOKENS", "99")
    settings = load_settings(tmp_path)
    assert settings.retrieval.top_k == 8 and settings.generation.max_tokens == 99
    # The window saves after the user changed the chunk overlap: only that change is the user's.
    save_settings(tmp_path, settings.updated(index={"chunk_overlap": 24}))
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "retrieval": {"top_k": 6}, "index": {"chunk_overlap": 24}, "generation": {"temperature": 0.5}
    }


def test_tool_settings_are_bounded_and_the_notes_folder_is_a_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(tmp_path).tools.max_steps == 5
    monkeypatch.setenv("HEARTH_TOOLS__MAX_STEPS", "3")
    assert load_settings(tmp_path).tools.max_steps == 3
    monkeypatch.setenv("HEARTH_TOOLS__MAX_STEPS", "1000")
    with pytest.raises(HearthError, match=r"tools\.max_steps"):
        load_settings(tmp_path)
    monkeypatch.delenv("HEARTH_TOOLS__MAX_STEPS")
    (tmp_path / "settings.json").write_text(json.dumps({"tools": {"notes_folder": "../notes"}}))
    with pytest.raises(HearthError, match=r"tools\.notes_folder: give the full path of a folder"):
        load_settings(tmp_path)
