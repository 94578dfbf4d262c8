"""Tokens in the config file are revoked without a restart: edit the file, send SIGHUP."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import requests

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, encode_report
from tests.collector.process import CollectorProcess, collector_process
from tests.peers import wait_until

OLD, NEW, VIEWER = "old-agent-token-1a2b", "new-agent-token-3c4d", "viewer-token-5e6f"


def tokens(*agents: str, viewer: bool = True) -> str:
    listed = ", ".join(f"{{name: a{i}, token: {t}}}" for i, t in enumerate(agents))
    api = f"api_tokens: [{{name: v, token: {VIEWER}, role: viewer}}]\n" if viewer else ""
    return f"agents: [{listed}]\n{api}"


def post(collector: CollectorProcess, token: str) -> int:
    probe = ProbeResult("host", "ok", 0.001, samples=[Sample("memory_used_ratio", 0.5)])
    body = gzip.compress(
        encode_report(Report(SCHEMA_V1, "web-01", time.time(), 1, "t", 10.0, [probe]))
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"}
    url = f"{collector.url}/api/v1/reports"
    return requests.post(url, data=body, headers=headers, timeout=5).status_code


def hosts(collector: CollectorProcess) -> int:
    headers = {"Authorization": f"Bearer {VIEWER}"}
    return requests.get(f"{collector.url}/api/v1/hosts", headers=headers, timeout=5).status_code


def test_sighup_takes_tokens_from_the_edited_config(tmp_path: Path) -> None:
    with collector_process(tmp_path, tokens(OLD)) as collector:
        assert (post(collector, OLD), post(collector, NEW), hosts(collector)) == (202, 401, 200)
        config = tmp_path / "collector.yaml"
        text = config.read_text().replace(tokens(OLD), tokens(NEW, viewer=False))
        config.write_text(text)
        collector.reload()
        wait_until(lambda: post(collector, OLD) == 401, 10, "old token refused")
        assert post(collector, NEW) == 202 and hosts(collector) == 401
        config.write_text("listen: [this is not valid\n" + text)
        collector.reload()
        time.sleep(0.5)
        assert post(collector, NEW) == 202, "a broken file keeps the tokens in force"
        assert "kept the old settings" in collector.log.read_text()
