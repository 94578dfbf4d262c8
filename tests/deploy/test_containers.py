"""Container files, validated statically (no container engine runs on the test machines):
hadolint on the Dockerfiles, kubernetes-validate on the DaemonSet, and every port, path,
command and config they name checked against the code's defaults and the repository."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.settings import load_settings
from collector.api.access import ROUTE_RULES, Gate
from collector.config import CollectorConfig, load_config
from tests.peers import require_tool

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} not installed (pip install -e '.[test]')")
    return str(path)


def instructions(name: str) -> dict[str, list[str]]:
    """The Dockerfile's final stage, instruction -> arguments (continuations joined)."""
    text = (DEPLOY / "container" / name).read_text().replace("\\\n", " ")
    final = text.split("\nFROM ")[-1]
    found: dict[str, list[str]] = {}
    for line in final.splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.setdefault(word, []).append(rest.strip())
    return found


def exec_form(text: str) -> list[str]:
    parsed: list[str] = json.loads(text)
    return parsed


def daemonset() -> dict[str, Any]:
    documents = list(yaml.safe_load_all((DEPLOY / "kubernetes/agent-daemonset.yaml").read_text()))
    (found,) = [d for d in documents if d["kind"] == "DaemonSet"]
    return found


def test_hadolint_passes_the_dockerfiles() -> None:
    files = sorted(str(p) for p in (DEPLOY / "container").glob("Dockerfile.*"))
    linted = subprocess.run([tool("hadolint"), *files], capture_output=True, text=True, check=False)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_the_daemonset_validates_against_the_kubernetes_schemas() -> None:
    path = DEPLOY / "kubernetes/agent-daemonset.yaml"
    checked = subprocess.run(
        [tool("kubernetes-validate"), "--strict", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_collector_image_serves_the_default_port_and_command() -> None:
    found = instructions("Dockerfile.collector")
    default_port = CollectorConfig().listen_host_port[1]
    assert found["EXPOSE"] == [str(default_port)]
    entrypoint, command = exec_form(found["ENTRYPOINT"][0]), exec_form(found["CMD"][0])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == ["watchkeeper"] and "watchkeeper" in scripts
    assert command[0] == "collector" and command[command.index("--listen") + 1].endswith(
        f":{default_port}"
    )
    assert f"127.0.0.1:{default_port}/-/healthy" in found["HEALTHCHECK"][0]
    assert ROUTE_RULES[("GET", "/-/healthy")] is Gate.PUBLIC  # the health check needs no token
    assert found["USER"] == ["10001"]


def test_the_agent_image_and_the_daemonset_agree() -> None:
    found = instructions("Dockerfile.agent")
    command = exec_form(found["CMD"][0])
    spec = daemonset()["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert command[0] == container["args"][0] == "agent"
    procfs = container["args"][container["args"].index("--procfs") + 1]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["proc"]["mountPath"] == procfs == "/host/proc"
    for name in ("proc", "sys", "dev"):
        assert mounts[name]["readOnly"] is True, f"host {name} must be read-only"
    caps = container["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"] and {"SYS_RAWIO", "SYS_ADMIN"} <= set(caps["add"])


def test_the_daemonset_agent_config_loads(tmp_path: Path) -> None:
    documents = yaml.safe_load_all((DEPLOY / "kubernetes/agent-daemonset.yaml").read_text())
    (config_map,) = [d for d in documents if d["kind"] == "ConfigMap"]
    path = tmp_path / "agent.yaml"
    path.write_text(config_map["data"]["agent.yaml"])
    settings = load_settings(path)
    (container,) = daemonset()["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert settings.procfs == mounts["proc"]
    assert str(Path(str(settings.token_file)).parent) == mounts["secret"]
    assert settings.spool_dir == mounts["spool"]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose/compose.yaml").read_text())
    return loaded


def test_compose_wires_the_collector_postgres_prometheus_and_grafana() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "collector", "prometheus", "grafana"}
    config = load_config(DEPLOY / "compose/collector.yaml")
    port = config.listen_host_port[1]
    assert services["collector"]["ports"] == [f"{port}:{port}"]
    postgres = services["postgres"]["environment"]
    user, password, database = (
        postgres[k] for k in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
    )
    assert config.database == f"postgresql+psycopg://{user}:{password}@postgres:5432/{database}"
    secrets = {s: compose()["secrets"][s]["file"] for s in services["collector"]["secrets"]}
    tokens = [t.token_file for t in (*config.agents, *config.api_tokens)]
    assert {str(t) for t in tokens} == {f"/run/secrets/{s}" for s in secrets}
    build = services["collector"]["build"]
    assert (DEPLOY / "compose" / build["context"] / build["dockerfile"]).is_file()


def test_compose_mounts_only_files_that_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith(".") and "/secrets/" not in source:
                assert (DEPLOY / "compose" / source).exists(), f"{name}: {source}"


def test_compose_prometheus_scrapes_the_collector_service(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "compose/prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["collector:9810"]
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources.yml").read_text())
    url = datasource["datasources"][0]["url"]
    assert re.fullmatch(r"http://prometheus:(\d+)", url)
    assert compose()["services"]["prometheus"]["ports"] == [f"{url.rsplit(':', 1)[1]}:9090"]
    shutil.copy(DEPLOY / "compose/prometheus.yml", tmp_path)
    shutil.copy(DEPLOY / "prometheus/watchkeeper-rules.yml", tmp_path)
    (tmp_path / "watchkeeper-scrape.token").write_text("t\n")
    checked = subprocess.run(
        [
            require_tool("promtool", "prometheus"),
            "check",
            "config",
            str(tmp_path / "prometheus.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dockerfiles_copy_what_exists() -> None:
    for path in (DEPLOY / "container").glob("Dockerfile.*"):
        for line in path.read_text().splitlines():
            if line.startswith("COPY ") and "--from" not in line:
                for source in line.split()[1:-1]:
                    assert (ROOT / source).exists(), f"{path.name}: {source}"
