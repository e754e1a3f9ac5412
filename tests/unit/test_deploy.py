"""deploy/ stays true to the code: no container engine runs here, so its structure is what these tests check.

Every manifest parses; every ``THIDUA_*`` variable it passes is a setting; every service has an API and a worker
in compose and in Kubernetes, routed by its prefix and probed on ``/readyz``; every command is one ``thidua``
has; the RabbitMQ definitions are exactly what the code declares.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from services.bootstrap import SERVICE_NAMES, topology_for
from services.cli import main
from shared.definitions import definitions_json
from shared.settings import PREFIX, SETTINGS, Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
SETTING_NAMES = {PREFIX + s.name for s in SETTINGS}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return document


def k8s_documents() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


def k8s_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in k8s_documents() if d["kind"] == kind]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return found


def k8s_commands() -> Iterator[list[str]]:
    for document in k8s_kind("Deployment") + k8s_kind("Job"):
        for container in containers(document):
            yield container["command"]


def test_every_manifest_parses() -> None:
    assert compose()["services"]
    kinds = {d["kind"] for d in k8s_documents()}
    assert {"Namespace", "ConfigMap", "Secret", "Job", "Deployment", "Service", "Ingress"} <= kinds
    assert {"PersistentVolumeClaim"} <= kinds
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text(encoding="utf-8"))["resources"]
    assert all((DEPLOY / "k8s" / name).is_file() for name in listed)


def test_every_variable_passed_is_a_setting() -> None:
    passed: set[str] = set()
    for service in compose()["services"].values():
        passed |= set(service.get("environment", {}))
    for document in k8s_kind("ConfigMap"):
        passed |= set(document["data"])
    for document in k8s_kind("Secret"):
        passed |= set(document["stringData"])
    for document in k8s_kind("Deployment") + k8s_kind("Job"):
        for container in containers(document):
            passed |= {variable["name"] for variable in container.get("env", [])}
    env_example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    passed |= set(re.findall(r"^(THIDUA_\w+)=", env_example, re.MULTILINE))
    thidua = {name for name in passed if name.startswith(PREFIX)}
    assert thidua - SETTING_NAMES == set()
    assert "THIDUA_SECRET_KEY" in thidua


def test_compose_requires_the_secret_key_and_shares_the_documents_among_intake_processes() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if "THIDUA_SECRET_KEY" in service.get("environment", {}):
            assert service["environment"]["THIDUA_SECRET_KEY"].startswith("${THIDUA_SECRET_KEY:?"), name
    for name in ("intake-api", "intake-worker"):
        documents = services[name]["environment"]["THIDUA_DOCUMENTS_DIR"]
        assert any(volume.split(":")[1] == documents for volume in services[name]["volumes"]), name


def test_every_service_has_an_api_and_a_worker_in_compose_after_the_migration() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["thidua", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in SERVICE_NAMES:
        api, worker = services[f"{name}-api"], services[f"{name}-worker"]
        assert api["command"] == ["thidua", "serve", name]
        assert worker["command"] == ["thidua", "worker", name]
        for process in (api, worker):
            assert process["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert process["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        assert "http://127.0.0.1:8000/readyz" in " ".join(api["healthcheck"]["test"])
        assert services["proxy"]["depends_on"][f"{name}-api"]["condition"] == "service_healthy"


def test_every_service_has_an_api_with_probes_and_a_worker_that_stops_gracefully_in_kubernetes() -> None:
    deployments = {d["metadata"]["name"]: d for d in k8s_kind("Deployment")}
    services = {s["metadata"]["name"]: s for s in k8s_kind("Service")}
    assert set(deployments) == {f"{n}-{kind}" for n in SERVICE_NAMES for kind in ("api", "worker")} | {"portal"}
    for name in SERVICE_NAMES:
        [api] = containers(deployments[f"{name}-api"])
        assert api["command"] == ["thidua", "serve", name]
        assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert api["resources"]["requests"] and api["resources"]["limits"]
        assert (
            services[f"{name}-api"]["spec"]["selector"] == deployments[f"{name}-api"]["spec"]["selector"]["matchLabels"]
        )
        worker_spec = deployments[f"{name}-worker"]["spec"]["template"]["spec"]
        [worker] = worker_spec["containers"]
        assert worker["command"] == ["thidua", "worker", name]
        assert "ports" not in worker and "readinessProbe" not in worker
        assert worker_spec["terminationGracePeriodSeconds"] >= 30
    [job] = k8s_kind("Job")
    assert containers(job)[0]["command"] == ["thidua", "db", "upgrade"]


def test_the_documents_claim_is_shared_by_every_intake_pod() -> None:
    [claim] = k8s_kind("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for document in k8s_kind("Deployment"):
        claims = {
            v["persistentVolumeClaim"]["claimName"] for v in document["spec"]["template"]["spec"].get("volumes", [])
        }
        assert (claim["metadata"]["name"] in claims) == document["metadata"]["name"].startswith("intake-")


def test_the_proxy_and_the_ingress_route_every_service_prefix_to_its_api() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstreams = dict(re.findall(r"upstream (\w+)\s*\{\s*server ([\w-]+):8000;", nginx))
    routes = dict(re.findall(r"location (/\w*?)/?\s+\{ proxy_pass http://(\w+); \}", nginx))
    assert {prefix: upstreams[name] for prefix, name in routes.items()} == {
        **{f"/{name}": f"{name}-api" for name in SERVICE_NAMES},
        "/": "portal",
    }
    [ingress] = k8s_kind("Ingress")
    paths = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert paths == {**{f"/{name}": f"{name}-api" for name in SERVICE_NAMES}, "/": "portal"}


def test_the_portal_runs_on_its_own_and_calls_the_apis_through_the_proxy() -> None:
    portal = compose()["services"]["portal"]
    assert portal["command"] == ["thidua", "serve", "portal"]
    assert portal["environment"]["THIDUA_API_URL"] == "http://proxy:8080"
    assert portal["environment"]["THIDUA_SECRET_KEY"].startswith("${THIDUA_SECRET_KEY:?"), "it signs the tokens"
    [deployment] = [d for d in k8s_kind("Deployment") if d["metadata"]["name"] == "portal"]
    [container] = containers(deployment)
    assert container["command"] == ["thidua", "serve", "portal"]
    assert {v["name"]: v["value"] for v in container["env"]}["THIDUA_API_URL"].startswith("https://")
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_proxy_takes_uploads_as_large_as_the_api_allows() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    [megabytes] = re.findall(r"client_max_body_size (\d+)m;", nginx)
    allowed = Settings.from_env({}).max_upload_bytes
    assert int(megabytes) * 1024 * 1024 > allowed
    [ingress] = k8s_kind("Ingress")
    body_size = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert int(body_size.removesuffix("m")) * 1024 * 1024 > allowed


def _resolve(arguments: list[str]) -> None:
    """Parse ``arguments`` as the ``thidua`` command line would, down to the command and its parameters."""
    assert arguments[0] == "thidua"
    command: click.Command = main
    context = click.Context(main, info_name="thidua")
    rest = arguments[1:]
    while isinstance(command, click.Group):
        found = command.get_command(context, rest[0])
        assert found is not None, f"thidua has no command {rest[0]!r} in {arguments}"
        command, rest = found, rest[1:]
        context = click.Context(command, info_name=command.name, parent=context)
    command.make_context(command.name, rest, parent=context)  # raises on an unknown option or service


def test_every_command_the_manifests_run_is_one_thidua_has() -> None:
    commands = [service["command"] for service in compose()["services"].values() if "command" in service]
    thidua_commands = [c for c in commands if isinstance(c, list) and c[0] == "thidua"] + list(k8s_commands())
    assert len(thidua_commands) == 2 * (1 + 2 * len(SERVICE_NAMES) + 1)  # migration, API and worker each, portal
    for arguments in thidua_commands:
        _resolve(arguments)
    with pytest.raises(click.BadParameter):
        _resolve(["thidua", "serve", "nominations"])


def test_the_rabbitmq_definitions_are_the_ones_the_code_generates() -> None:
    committed = (DEPLOY / "rabbitmq" / "definitions.json").read_text(encoding="utf-8")
    generated = definitions_json(topology_for(Settings.from_env({})))
    assert committed == generated, "run: thidua deploy rabbitmq-definitions > deploy/rabbitmq/definitions.json"
    definitions = json.loads(committed)
    assert {q["name"] for q in definitions["queues"]} == {
        name for service in SERVICE_NAMES for name in (f"thidua.{service}", f"thidua.{service}.dead-letters")
    }
    assert all(q["arguments"]["x-queue-type"] == "quorum" for q in definitions["queues"])
    assert {p["name"] for p in definitions["policies"]} == {f"thidua.{s}" for s in SERVICE_NAMES}
    assert "users" not in definitions  # credentials never go into the repository
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text(encoding="utf-8")
    [folder] = re.findall(r"^load_definitions = (\S+)$", conf, re.MULTILINE)
    rabbitmq = compose()["services"]["rabbitmq"]
    assert f"./rabbitmq/definitions.json:{folder}/definitions.json:ro" in rabbitmq["volumes"]
