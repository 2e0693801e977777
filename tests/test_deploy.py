"""deploy/ on paper: the Kubernetes manifests pass kubernetes-validate (the API's own schemas, strict:
no unknown field), and both they and the compose file keep the promises of deploy/README.md: readiness
probes, persistent volumes, nothing listening on the network but the TLS proxy, a GPU option."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUBERNETES_VERSION = "1.33.0"


def _manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return documents


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in _manifests() if doc["kind"] == kind]


@pytest.mark.parametrize("manifest", _manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_follows_the_kubernetes_schema(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_deployments_are_probed_stored_and_served_inside_the_cluster() -> None:
    claims = {doc["metadata"]["name"] for doc in _of_kind("PersistentVolumeClaim")}
    services = _of_kind("Service")
    assert services and all(s["spec"]["type"] == "ClusterIP" for s in services)  # nothing public
    for deployment in _of_kind("Deployment"):
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert any(s["spec"]["selector"].items() <= labels.items() for s in services), deployment["metadata"]
        volumes = spec["template"]["spec"]["volumes"]
        assert {v["persistentVolumeClaim"]["claimName"] for v in volumes} <= claims
        for container in spec["template"]["spec"]["containers"]:
            assert container["readinessProbe"]["httpGet"]["path"] in ("/api/v2/heartbeat", "/health")
            assert container["image"].split(":")[-1] != "latest"


def test_the_model_key_is_a_secret_made_by_hand_and_a_gpu_variant_exists() -> None:
    assert not _of_kind("Secret")  # never committed
    models = [d for d in _of_kind("Deployment") if d["metadata"]["name"] == "hearth-model"]
    assert len(models) == 2
    for deployment in models:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "hearth-model-key"
    containers = [d["spec"]["template"]["spec"]["containers"][0] for d in models]
    gpu = [c for c in containers if "nvidia.com/gpu" in c["resources"]["limits"]]
    assert len(gpu) == 1 and gpu[0]["image"].endswith("-cuda")


def test_the_compose_file_exposes_only_the_tls_proxy_and_offers_a_gpu() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"chroma", "model-cpu", "model-gpu", "proxy"}
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    for port in services["proxy"]["ports"]:
        assert re.fullmatch(r"\$\{HEARTH_BIND[^}]*\}:\d+:\d+", port), port  # bound to one address, never all
    for name in ("chroma", "model-cpu", "model-gpu"):
        assert services[name]["healthcheck"]["test"], name
        assert ":" in services[name]["image"] and not services[name]["image"].endswith(":latest")
    for name in ("model-cpu", "model-gpu"):
        assert services[name]["networks"]["default"]["aliases"] == ["model"]
        assert "--api-key-file" in services[name]["command"]
    (device,) = services["model-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert {s["profiles"][0] for s in (services["model-cpu"], services["model-gpu"])} == {"cpu", "gpu"}
    assert set(compose["volumes"]) >= {v.split(":")[0] for v in services["chroma"]["volumes"]}
    assert compose["secrets"]["model_api_key"]["file"] == "./secrets/model_api_key"


def test_the_proxy_demands_the_chroma_token_and_reaches_both_servers() -> None:
    caddyfile = (DEPLOY / "proxy" / "Caddyfile").read_text(encoding="utf-8")
    assert '@token header Authorization "Bearer {$CHROMA_TOKEN}"' in caddyfile
    assert "reverse_proxy chroma:8000" in caddyfile and "reverse_proxy model:8080" in caddyfile
    assert caddyfile.count("\ttls internal") == 2 and "respond 401" in caddyfile
