from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.core.errors import HearthError
from desktop.core.settings import HearthSettings, load_settings, save_settings


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.chunk_tokens <= 254
    assert settings.hybrid is True


def test_file_then_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"top_k": 7, "chunk_tokens": 150}))
    assert load_settings(tmp_path).top_k == 7
    monkeypatch.setenv("HEARTH_TOP_K", "9")
    settings = load_settings(tmp_path)
    assert settings.top_k == 9
    assert settings.chunk_tokens == 150


def test_invalid_value_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"chunk_tokens": 999}))
    with pytest.raises(HearthError, match="chunk_tokens"):
        load_settings(tmp_path)


def test_invalid_env_names_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARTH_TOP_K", "many")
    with pytest.raises(HearthError, match="top_k"):
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
        load_settings(tmp_path, chunk_tokens=100, chunk_overlap=60)


def test_save_keeps_only_changes_and_round_trips(tmp_path: Path) -> None:
    settings = HearthSettings(top_k=8)
    save_settings(tmp_path, settings)
    assert json.loads((tmp_path / "settings.json").read_text()) == {"top_k": 8}
    assert load_settings(tmp_path).top_k == 8


def test_index_signature_tracks_what_vectors_depend_on() -> None:
    assert HearthSettings(top_k=3).index_signature() == HearthSettings().index_signature()
    assert HearthSettings(chunk_tokens=120).index_signature() != HearthSettings().index_signature()
