"""Composing notifications: titles, bodies, languages, times and links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from collector.incidents.model import Incident, IncidentState
from collector.notify.message import (
    TITLE_MAX_CHARS,
    compose_notification,
    format_duration,
)
from rules.priority import Priority

OPENED_AT = 1714564800.0  # 2024-05-01T12:00:00Z


@pytest.fixture
def make_incident() -> Callable[..., Incident]:
    def make(**overrides: Any) -> Incident:
        incident = Incident(
            key="FilesystemFull|web1|mountpoint=/",
            rule="FilesystemFull",
            host="web1",
            labels={"mountpoint": "/", "device": "/dev/sda1"},
            priority=Priority.P1,
            state=IncidentState.OPEN,
            summary="/ is 96% full",
            value=96.2345678,
            opened_at=OPENED_AT,
            updated_at=OPENED_AT,
            id=17,
        )
        return replace(incident, **overrides)

    return make


def test_opened_title_names_priority_rule_host_and_summary(
    make_incident: Callable[..., Incident],
) -> None:
    note = compose_notification(make_incident(), "opened")
    assert note.title == "[P1] OPEN FilesystemFull on web1: / is 96% full"
    assert note.event == "opened"
    assert note.time == OPENED_AT
    assert (note.incident_key, note.incident_id) == ("FilesystemFull|web1|mountpoint=/", 17)


def test_opened_body_carries_every_fact_an_operator_needs(
    make_incident: Callable[..., Incident],
) -> None:
    body = compose_notification(make_incident(), "opened").body
    lines = body.splitlines()
    assert lines[0] == "/ is 96% full"
    assert "Host: web1" in lines
    assert "Rule: FilesystemFull" in lines
    assert "Priority: P1" in lines
    assert "Labels: device=/dev/sda1, mountpoint=/" in lines
    assert "Value: 96.2346" in lines
    assert "Opened: 2024-05-01T12:00:00Z" in lines
    assert not any(line.startswith(("Resolved", "Duration", "Link")) for line in lines)


def test_resolved_notification_gives_resolution_time_and_duration(
    make_incident: Callable[..., Incident],
) -> None:
    incident = make_incident(state=IncidentState.RESOLVED, resolved_at=OPENED_AT + 2530)
    note = compose_notification(incident, "resolved")
    assert note.title == "[P1] RESOLVED FilesystemFull on web1: / is 96% full"
    assert note.time == OPENED_AT + 2530
    assert "Resolved: 2024-05-01T12:42:10Z" in note.body.splitlines()
    assert "Duration: 42m10s" in note.body.splitlines()


def test_console_url_adds_a_link_to_the_incident(make_incident: Callable[..., Incident]) -> None:
    note = compose_notification(make_incident(), "opened", console_url="https://wk.example/")
    assert "Link: https://wk.example/incidents/17" in note.body.splitlines()


def test_no_link_for_an_incident_not_yet_stored(make_incident: Callable[..., Incident]) -> None:
    note = compose_notification(make_incident(id=None), "opened", console_url="https://wk")
    assert "Link" not in note.body


@pytest.mark.parametrize(
    ("event", "word"), [("opened", "告警"), ("resolved", "已恢复")], ids=["opened", "resolved"]
)
def test_chinese_wording(make_incident: Callable[..., Incident], event: str, word: str) -> None:
    incident = make_incident(resolved_at=OPENED_AT + 90000)
    note = compose_notification(incident, event, language="zh")  # type: ignore[arg-type]
    assert note.title == f"[P1] {word} FilesystemFull（web1）：/ is 96% full"
    assert "主机：web1" in note.body.splitlines()
    assert "优先级：P1" in note.body.splitlines()
    if event == "resolved":
        assert "持续时间：1d01h" in note.body.splitlines()


def test_title_fits_one_sms_even_with_a_long_summary(
    make_incident: Callable[..., Incident],
) -> None:
    note = compose_notification(make_incident(summary="x" * 500), "opened")
    assert len(note.title) == TITLE_MAX_CHARS
    assert note.title.startswith("[P1] OPEN FilesystemFull on web1: xxx")
    assert note.title.endswith("…")


def test_string_values_and_missing_values(make_incident: Callable[..., Incident]) -> None:
    assert "Value: degraded" in compose_notification(make_incident(value="degraded"), "opened").body
    assert "Value" not in compose_notification(make_incident(value=None), "opened").body


def test_resolving_an_unresolved_incident_is_refused(
    make_incident: Callable[..., Incident],
) -> None:
    with pytest.raises(ValueError, match="no resolved_at"):
        compose_notification(make_incident(), "resolved")


@pytest.mark.parametrize(
    ("bad", "message"),
    [({"event": "acked"}, "event must be"), ({"language": "fr"}, "language must be")],
    ids=["event", "language"],
)
def test_unknown_event_or_language_is_refused(
    make_incident: Callable[..., Incident], bad: dict[str, str], message: str
) -> None:
    arguments: dict[str, Any] = {"event": "opened", "language": "en", **bad}
    with pytest.raises(ValueError, match=message):
        compose_notification(make_incident(), **arguments)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (725, "12m05s"), (11220, "3h07m"), (187200, "2d04h")],
    ids=["zero", "seconds", "minutes", "hours", "days"],
)
def test_duration_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
