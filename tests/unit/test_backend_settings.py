"""The backends group: bad addresses are refused naming the field, and what leaves the machine is
said exactly (the status bar, `hearth status` and the privacy guard read the same list)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.core.backends import Endpoint, outside_machine, remote_endpoints
from desktop.core.errors import HearthError
from desktop.core.settings import BackendSettings, HearthSettings, load_settings


@pytest.mark.parametrize(("url", "reason"), [
    ("localhost:8000", "not a full URL: give one starting with http:// or https://"),
    ("192.168.1.20:8000", "not a full URL"),
    ("gpu-box", "not a full URL"),
    ("ftp://gpu-box", "not a full URL"),
    ("http://", "not a full URL"),
    ("http://gpu-box:99999", "has no valid port number"),
    ("http://admin:secret@gpu-box:8000", "without a user name, password"),
])
def test_a_server_address_must_be_a_full_url(
    url: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for field in ("vector_server", "model_server"):
        monkeypatch.setenv(f"HEARTH_BACKENDS__{field.upper()}", url)
        with pytest.raises(HearthError, match=rf"^Invalid setting: backends\.{field}: .*{reason}") as raised:
            load_settings(tmp_path)
        assert "Value error" not in str(raised.value) and "\n" not in str(raised.value)
        monkeypatch.delenv(f"HEARTH_BACKENDS__{field.upper()}")


@pytest.mark.parametrize("name", ["ab", "-leading", "trailing.", "with space", "a..b", "x" * 600])
def test_a_collection_name_follows_chromas_rule(name: str, tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"backends": {"collection": name}}))
    with pytest.raises(HearthError, match=r"backends\.collection: give 3 to 512 letters"):
        load_settings(tmp_path)


def test_offline_only_when_both_are_local() -> None:
    assert outside_machine(BackendSettings()) == [] and remote_endpoints(BackendSettings()) == []
    vectors = BackendSettings(vector_server="https://vectors.home.arpa/")
    assert outside_machine(vectors) == ["Remote vectors: vectors.home.arpa:443"]
    both = BackendSettings(vector_server="http://10.0.0.5:8000", model_server="http://gpu-box:8080/v1")
    assert outside_machine(both) == ["Remote vectors: 10.0.0.5:8000", "Remote model: gpu-box"]
    assert remote_endpoints(both) == [Endpoint("10.0.0.5", 8000), Endpoint("gpu-box", 8080)]
    same = BackendSettings(vector_server="http://box:8000", model_server="http://box:8000/v1")
    assert remote_endpoints(same) == [Endpoint("box", 8000)]


def test_secrets_stay_out_of_reprs_and_the_embedded_index_keeps_its_signature() -> None:
    backends = BackendSettings(vector_server="http://box:8000", vector_token="tok-123", model_api_key="key-456")
    assert "tok-123" not in repr(backends) and "key-456" not in repr(backends)
    local = HearthSettings()
    assert "vectors" not in local.index_signature()  # existing indexes are not rebuilt
    moved = local.updated(backends={"vector_server": "http://box:8000"})
    assert moved.index_signature() != local.index_signature()  # moving the vectors rebuilds them there
