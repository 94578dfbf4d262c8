"""The knowledge base: a closed incident's cause and fix become an entry, and the next
incident of the same kind finds it first — on SQLite and PostgreSQL alike; search by API and
`watchkeeper kb search`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from collector.config import ApiToken
from collector.incidents.events import Close, RuleCleared, RuleFired
from collector.incidents.model import Incident
from collector.incidents.rootcause import Category, FollowUp, RootCause
from collector.incidents.service import IncidentService, IncidentSettings
from collector.kb_cli import kb_command
from collector.knowledge.kb import KbEntry, Query, rank, tokens
from collector.knowledge.service import KnowledgeService
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector

ALICE = {"Authorization": "Bearer alice-secret-1"}


def test_words_are_lowercased_without_stop_words_and_chinese_is_read_as_bigrams() -> None:
    assert tokens("The Disk on DB-1 is FULL") == ["disk", "db", "1", "full"]
    assert tokens("磁盘已满 disk") == ["磁盘", "盘已", "已满", "disk"]


def entry(title: str, rule: str = "", **labels: str) -> KbEntry:
    return KbEntry(title, "cause", "fix", "alice", 0.0, 0.0, rule=rule, labels=labels, id=id(title))


def test_the_same_rule_and_labels_outrank_words_alone() -> None:
    wordy = entry("disk full disk full on var", rule="")
    same_rule = entry("volume ran out of space", rule="DiskFull", mount="/var")
    other = entry("memory leak in the cache", rule="MemoryHigh")
    found = rank(Query("disk full", "DiskFull", {"mount": "/var"}), [wordy, other, same_rule])
    assert [m.entry.title for m in found] == [same_rule.title, wordy.title]


def fired(key: str, rule: str, host: str, summary: str, **labels: str) -> RuleFired:
    return RuleFired(key, rule, host, labels, Priority.P2, summary, "", 0.97, "x")


def close_with_cause(
    service: IncidentService, knowledge: KnowledgeService, event: RuleFired, cause: str, fix: str
) -> Incident:
    opened = service.apply_rule(event)
    assert opened is not None
    service.apply_rule(RuleCleared(event.key, 0.1, "recovered"))
    actions = (FollowUp("review", "bob", date(2027, 3, 1)),)
    knowledge.record_root_cause(
        opened.number, RootCause(cause, fix, Category.SOFTWARE, actions, "alice", 0.0)
    )
    return service.act(opened.number, Close("alice"))


def test_a_second_incident_of_the_same_kind_finds_the_first_fix_on_top(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(1_800_000_000.0)
    service = IncidentService(engine, [], IncidentSettings(), clock)
    knowledge = KnowledgeService(engine, clock)
    first = close_with_cause(
        service, knowledge,
        fired("k1", "DiskFull", "db-1", "/var is 97% full on db-1", mount="/var"),
        "binlogs kept forever after the retention setting was lost",
        "purged binlogs, set binlog_expire_logs_seconds=604800",
    )  # fmt: skip
    clock.advance(600)
    close_with_cause(
        service, knowledge,
        fired("k2", "MemoryHigh", "db-1", "memory 95% on db-1"),
        "query cache grew without bound", "capped the cache",
    )  # fmt: skip
    knowledge.add_entry(
        KbEntry(
            "Disk full on web hosts", "access logs not rotated", "enabled logrotate",
            "alice", 0.0, 0.0, labels={"host_family": "web-"}, tags=("disk",),
        )
    )  # fmt: skip
    clock.advance(600)
    second = service.apply_rule(
        fired("k3", "DiskFull", "db-2", "/var is 96% full on db-2", mount="/var")
    )
    assert second is not None
    matches = knowledge.matches_for(second)
    assert matches[0].entry.source_number == first.number
    assert matches[0].entry.fix == "purged binlogs, set binlog_expire_logs_seconds=604800"
    assert "DiskFull" in matches[0].entry.tags and "software" in matches[0].entry.tags
    assert all(m.entry.source_incident_id != second.id for m in matches)
    assert knowledge.matches_for(first)[0].entry.source_number != first.number, "never itself"
    searched = knowledge.search("disk full")
    assert {m.entry.source_number for m in searched} == {first.number, None}, "no memory entry"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    collector = RunningCollector(
        tmp_path,
        FakeClock(),
        channels=[],
        api_tokens=[ApiToken(name="alice", token="alice-secret-1")],  # type: ignore[arg-type]
    )
    yield collector
    collector.stop()


def call(running: RunningCollector, method: str, path: str, **body: Any) -> requests.Response:
    return running.session.request(
        method, f"{running.url}{path}", json=body, headers=ALICE, timeout=5
    )


def test_the_incident_view_shows_kb_matches_and_entries_can_be_written_and_searched(
    running: RunningCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    written = call(
        running, "POST", "/api/v1/kb",
        title="Payroll export stuck", cause="SFTP host key changed at the bank",
        fix="accepted the new host key after calling the bank", tags=["payroll", "sftp"],
    )  # fmt: skip
    assert written.status_code == 201, written.text
    assert written.json()["author"] == "alice" and written.json()["source_incident"] is None
    call(running, "POST", "/api/v1/kb", title="Mail queue", cause="relay down", fix="restarted")
    opened = call(running, "POST", "/api/v1/incidents", title="payroll export stuck again")
    detail = running.get(f"/api/v1/incidents/{opened.json()['number']}")
    assert [m["title"] for m in detail["kb_matches"]] == ["Payroll export stuck"]
    assert detail["kb_matches"][0]["fix"].startswith("accepted the new host key")
    found = running.get("/api/v1/kb?q=sftp%20host%20key")
    assert [m["title"] for m in found] == ["Payroll export stuck"]
    assert running.fetch("/api/v1/kb").status_code == 400
    env = {"WATCHKEEPER_URL": running.url, "WATCHKEEPER_TOKEN": "alice-secret-1"}
    capsys.readouterr()
    assert kb_command(["search", "payroll", "sftp"], env) == 0
    out = capsys.readouterr().out
    assert "Payroll export stuck" in out and "fix:    accepted the new host key" in out
    assert kb_command(["search", "nothing-like-it"], env) == 0
    assert capsys.readouterr().out.strip() == "no matching entries"
    assert kb_command(["search", "x"], {**env, "WATCHKEEPER_TOKEN": "wrong"}) == 1
    assert "unknown, expired or revoked" in capsys.readouterr().err
