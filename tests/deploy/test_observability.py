"""deploy/prometheus, deploy/alertmanager and deploy/grafana: promtool and amtool accept the
configs, a real Prometheus scrapes a real collector with the bearer token as configured, and
every dashboard query names only metrics the collector exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from agent.catalogue import load_catalogue
from collector.config import ApiToken
from tests.collector.harness import FakeClock, RunningCollector, host_report
from tests.peers import free_port, require_tool, wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana").glob("*.json"))
SCRAPE_TOKEN = "scrape-token-19ab"
METRIC = re.compile(r"\bwatchkeeper_[a-zA-Z0-9_]+")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def prometheus_dir(tmp_path: Path) -> Path:
    """deploy/prometheus as installed: its files, and the token file beside them."""
    for path in (DEPLOY / "prometheus").glob("*.yml"):
        shutil.copy(path, tmp_path)
    (tmp_path / "watchkeeper-scrape.token").write_text(SCRAPE_TOKEN + "\n")
    return tmp_path


@pytest.mark.parametrize("name", ["prometheus.yml", "scrape-watchkeeper.yml"])
def test_promtool_accepts_the_prometheus_configs(prometheus_dir: Path, name: str) -> None:
    checked = run(
        require_tool("promtool", "prometheus"), "check", "config", str(prometheus_dir / name)
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_amtool_accepts_the_alertmanager_config(tmp_path: Path) -> None:
    shutil.copy(DEPLOY / "alertmanager" / "alertmanager.yml", tmp_path)
    (tmp_path / "watchkeeper-integration.token").write_text("t\n")
    checked = run(
        require_tool("amtool", "prometheus-alertmanager"),
        "check-config",
        str(tmp_path / "alertmanager.yml"),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[RunningCollector]:
    viewer = ApiToken(name="prometheus", token=SCRAPE_TOKEN, role="viewer")  # type: ignore[arg-type]
    running = RunningCollector(tmp_path / "c", FakeClock(time.time()), api_tokens=[viewer])
    yield running
    running.stop()


def test_prometheus_scrapes_the_collector_and_runs_every_dashboard_query(
    prometheus_dir: Path, collector: RunningCollector
) -> None:
    """The shipped job scrapes with the token; each panel query (with $host as .*) is PromQL
    that a real Prometheus accepts."""
    config = yaml.safe_load((prometheus_dir / "scrape-watchkeeper.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "watchkeeper-collector"]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{collector.port}"]}]
    job["scrape_interval"] = "1s"
    (prometheus_dir / "live.yml").write_text(yaml.safe_dump({"scrape_configs": [job]}))
    collector.post(host_report("web-01", collector.clock, cpu_usage_ratio=0.25))
    port = free_port()
    process = subprocess.Popen(
        [
            require_tool("prometheus", "prometheus"),
            f"--config.file={prometheus_dir / 'live.yml'}",
            f"--storage.tsdb.path={prometheus_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        query = f"http://127.0.0.1:{port}/api/v1/query"

        def scraped() -> bool:
            answer = requests.get(query, params={"query": "watchkeeper_cpu_usage_ratio"}, timeout=2)
            return bool(answer.json()["data"]["result"])

        wait_until(scraped, 30, "a scrape of the collector", step=0.2)
        (sample,) = requests.get(
            query, params={"query": "watchkeeper_cpu_usage_ratio"}, timeout=2
        ).json()["data"]["result"]
        assert sample["metric"]["host"] == "web-01"  # honor_labels keeps the collector's host
        assert sample["value"][1] == "0.25"
        for path in DASHBOARDS:
            for expr in queries(json.loads(path.read_text())):
                promql = expr.replace("$host", ".*")
                answer = requests.get(query, params={"query": promql}, timeout=5).json()
                assert answer["status"] == "success", f"{path.name}: {expr}: {answer}"
    finally:
        process.terminate()
        process.wait(10)


def exported_names(collector: RunningCollector) -> set[str]:
    """Every series name the collector can expose: the agent catalogue's metrics under the
    prefix, and the families of a real /metrics page (with their _total/_bucket... series)."""
    names = {f"watchkeeper_{name}" for name in load_catalogue().metrics}
    page = collector.fetch("/metrics").text
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", page, re.MULTILINE):
        names.add(family)
        if kind == "counter":
            names.add(family + "_total")
        if kind == "histogram":
            names |= {family + s for s in ("_bucket", "_sum", "_count")}
    return names


def queries(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def test_the_four_dashboards_are_there() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert titles == {
        "Watchkeeper / Fleet overview",
        "Watchkeeper / Host detail",
        "Watchkeeper / Hardware health",
        "Watchkeeper / Incidents and SLA",
    }


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.stem for p in DASHBOARDS])
def test_every_panel_query_names_exported_metrics(path: Path, collector: RunningCollector) -> None:
    board = json.loads(path.read_text())
    known = exported_names(collector)
    assert board["uid"].startswith("wk-") and board["panels"]
    for panel in board["panels"]:
        assert panel["targets"], f"{panel['title']}: no query"
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    for expr in queries(board):
        named = METRIC.findall(expr)
        assert named, f"{path.name}: {expr!r} names no watchkeeper metric"
        unknown = [n for n in named if n not in known]
        assert not unknown, f"{path.name}: {expr!r} names {unknown}, which nothing exports"
