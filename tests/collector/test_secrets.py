"""Secrets of every kind, configured every way (in the file, by file, by environment), are
absent from every output: logs at every level, /metrics, API answers (with delivery errors in
timelines), the console pages and error messages."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collector.config import AgentToken, ApiToken, ChannelConfig, DeliveryConfig
from collector.redaction import Redactor, redact, url_secrets
from tests.collector.harness import (
    FakeClock,
    RunningCollector,
    host_report,
    wait_for,
)
from tests.peers import free_port

HEADER = "HeaderSecret5678"
PARAM = "ParamSecret9012"
URL_PASSWORD = "UrlPass1234word"
FILE_HEADER = "FileHeaderSecret3456"
ENV_PARAM = "EnvParamSecret7890"
MAIL_PASSWORD = "MailPass2468word"
API_TOKEN = "ApiTokenSecret1357"
AGENT_TOKEN = "AgentTokenSecret8642"
SECRETS = [HEADER, PARAM, URL_PASSWORD, FILE_HEADER, ENV_PARAM, MAIL_PASSWORD, API_TOKEN]


@pytest.fixture
def running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[RunningCollector]:
    caplog.set_level(logging.DEBUG)
    closed = free_port()  # nothing listens: every delivery fails and says why
    url_file = tmp_path / "hook.url"
    url_file.write_text(f"json://127.0.0.1:{closed}/f?+X-Token={FILE_HEADER}\n")
    agent_file = tmp_path / "agent.token"
    agent_file.write_text(AGENT_TOKEN + "\n")
    monkeypatch.setenv("WK_TEST_HOOK", f"jsons://127.0.0.1:{closed}/e?-token={ENV_PARAM}")
    monkeypatch.setenv("WK_TEST_API_TOKEN", API_TOKEN)
    notify = [
        ChannelConfig(  # type: ignore[arg-type]
            url=f"json://ops:{URL_PASSWORD}@127.0.0.1:{closed}/hook"
            f"?+Authorization=Bearer%20{HEADER}&-apikey={PARAM}"
        ),
        ChannelConfig(url_file=url_file),  # type: ignore[call-arg]
        ChannelConfig(url_env="WK_TEST_HOOK"),  # type: ignore[call-arg]
        ChannelConfig(  # type: ignore[arg-type]
            url=f"mailto://bob:{MAIL_PASSWORD}@127.0.0.1:{closed}"
            "?to=ops@example.test&from=wk@example.test"
        ),
    ]
    collector = RunningCollector(
        tmp_path,
        FakeClock(),
        notify=notify,
        api_tokens=[ApiToken(name="bot", token_env="WK_TEST_API_TOKEN")],  # type: ignore[call-arg]
        agents=[AgentToken(name="fleet", token_file=agent_file)],  # type: ignore[call-arg]
        delivery=DeliveryConfig(first_retry=0.05, max_retry=0.1, send_timeout=2.0),
    )
    yield collector
    collector.stop()


def test_no_secret_reaches_any_output(
    running: RunningCollector, caplog: pytest.LogCaptureFixture
) -> None:
    bot = {"Authorization": f"Bearer {API_TOKEN}"}
    opened = requests.post(
        f"{running.url}/api/v1/incidents", json={"title": "disk on fire"}, headers=bot, timeout=5
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    assert running.post(host_report("web1", running.clock), token=AGENT_TOKEN).status_code == 202

    def failed_everywhere() -> bool:
        deliveries = running.get(f"/api/v1/incidents/{number}")["deliveries"]
        return len(deliveries) == 4 and all(d["last_error"] for d in deliveries)

    wait_for(failed_everywhere, timeout=30)
    logging.getLogger("collector.test").warning("a careless line: %s", HEADER)
    outputs = {
        "log": caplog.text,
        "metrics": running.fetch("/metrics").text,
        "console": running.fetch("/").text + running.fetch(f"/incidents/{number}").text,
        "wrong token": requests.get(
            f"{running.url}/api/v1/hosts", headers={"Authorization": f"Bearer x{API_TOKEN}"}
        ).text,
    }
    for path in (
        "/api/v1/incidents?state=all",
        f"/api/v1/incidents/{number}",
        "/api/v1/hosts",
        "/api/v1/audit",
        "/api/v1/whoami",
    ):
        outputs[path] = running.fetch(path).text
    detail = running.get(f"/api/v1/incidents/{number}")
    assert all("****" in d["channel"] for d in detail["deliveries"] if "json" in d["channel"])
    assert any(e["kind"] == "delivery" for e in detail["timeline"])
    assert "apprise" in outputs["log"].lower() or "json" in outputs["log"].lower()
    for where, text in outputs.items():
        leaked = [s for s in [*SECRETS, AGENT_TOKEN] if s in text]
        assert not leaked, f"{where} shows {leaked}"


def test_redaction_knows_every_spelling_of_a_url_secret() -> None:
    url = "json://u:p%40ss-word@h/x?+Authorization=Bearer%20tok%2Fen99&-apikey=k3y-value&to=a"
    found = url_secrets(url)
    assert {"p@ss-word", "tok/en99", "Bearer tok/en99", "k3y-value"} <= set(found)
    text = (
        "POST http://h/x?apikey=k3y-value Authorization: Bearer tok/en99 (tok%2Fen99) u:p@ss-word"
    )
    assert redact(text, found) == "POST http://h/x?apikey=**** Authorization: **** (****) u:****"


def test_log_records_and_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor(["hunter2-secret"])
    redactor.install()
    try:
        log = logging.getLogger("collector.test")
        try:
            raise RuntimeError("connect to http://u:hunter2-secret@h failed")
        except RuntimeError:
            log.exception("delivery to %s failed", "http://u:hunter2-secret@h")
    finally:
        redactor.uninstall()
    assert "hunter2-secret" not in caplog.text and "u:****@h" in caplog.text


def test_secret_sources_are_one_of_each_and_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of url, url_file or url_env"):
        ChannelConfig()
    with pytest.raises(ValueError, match="found: token, token_env"):
        ApiToken(name="x", token="a", token_env="B")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="environment variable WK_NOT_SET is not set"):
        ChannelConfig(url_env="WK_NOT_SET").url_value({})  # type: ignore[call-arg]
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="is empty; put the secret on its first line"):
        AgentToken(name="x", token_file=empty).secret()  # type: ignore[call-arg]
