"""Composing notifications: ticket numbers, human units, threading, languages, links."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from collector.incidents.model import Incident, IncidentState, Source
from collector.notify.message import TITLE_MAX_CHARS, compose_notification, format_duration
from collector.notify.units import format_quantity
from rules.priority import Priority

OPENED_AT = 1714564800.0  # 2024-05-01T12:00:00Z


@pytest.fixture
def make_incident() -> Callable[..., Incident]:
    def make(**overrides: Any) -> Incident:
        incident = Incident(
            source=Source.RULE,
            key="k-fs-web1",
            rule="FilesystemFull",
            host="web1",
            hosts=("web1",),
            labels={"mountpoint": "/", "device": "/dev/sda1"},
            priority=Priority.P1,
            state=IncidentState.TRIGGERED,
            summary="/ is 96% full",
            description="The filesystem is almost full. Free space or grow it.",
            value=0.962345678,
            opened_at=OPENED_AT,
            updated_at=OPENED_AT,
            annotations={
                "metric": "filesystem_used_ratio",
                "condition": "above 90 %",
                "opening_value": "96.2 %",
            },
            id=17,
            number="INC-2024-000017",
            version=1,
        )
        return replace(incident, **overrides)

    return make


def test_opened_title_carries_ticket_rule_host_and_summary(
    make_incident: Callable[..., Incident],
) -> None:
    note = compose_notification(make_incident(), "opened")
    assert note.title == "[P1] INC-2024-000017 OPEN FilesystemFull on web1: / is 96% full"
    assert (note.event, note.time, note.number) == ("opened", OPENED_AT, "INC-2024-000017")


def test_title_does_not_repeat_a_host_the_summary_names(
    make_incident: Callable[..., Incident],
) -> None:
    note = compose_notification(make_incident(summary="/ on web1 is 96% full"), "opened")
    assert note.title.count("web1") == 1


def test_opened_body_says_what_it_means_in_human_units(
    make_incident: Callable[..., Incident],
) -> None:
    lines = compose_notification(make_incident(), "opened").body.splitlines()
    assert lines[0] == "/ is 96% full"
    assert "Ticket: INC-2024-000017" in lines
    assert "What it means: The filesystem is almost full. Free space or grow it." in lines
    assert "Value: 96.2 %" in lines
    assert "Threshold: above 90 %" in lines
    assert "Labels: device=/dev/sda1, mountpoint=/" in lines
    assert "Opened: 2024-05-01T12:00:00Z" in lines


def test_resolved_message_gives_the_value_at_resolution_and_time_to_resolve(
    make_incident: Callable[..., Incident],
) -> None:
    incident = make_incident(state=IncidentState.RESOLVED, resolved_at=OPENED_AT + 2530, value=0.5)
    note = compose_notification(incident, "resolved")
    assert note.title == (
        "[P1] INC-2024-000017 RESOLVED FilesystemFull on web1: "
        "Resolved after 42m10s: value now 50 %."
    )
    lines = note.body.splitlines()
    assert lines[0] == "Resolved after 42m10s: value now 50 %."
    assert "Value: 96.2 %" in lines and "Value now: 50 %" in lines
    assert "Time to resolve: 42m10s" in lines
    assert note.time == OPENED_AT + 2530


def test_messages_of_one_incident_thread_under_the_opening_one(
    make_incident: Callable[..., Incident],
) -> None:
    opened = compose_notification(make_incident(), "opened", channel="mailto://a")
    resolved = compose_notification(
        make_incident(version=2, resolved_at=OPENED_AT + 5), "resolved", channel="mailto://a"
    )
    assert opened.in_reply_to is None
    assert resolved.in_reply_to == opened.message_id
    assert resolved.message_id != opened.message_id
    again = compose_notification(make_incident(), "opened", channel="mailto://a")
    assert again.idempotency_key == opened.idempotency_key, "stable across a retry"
    other = compose_notification(make_incident(), "opened", channel="json://b")
    assert other.idempotency_key != opened.idempotency_key, "one key per channel"


def test_console_link_uses_the_ticket_number(make_incident: Callable[..., Incident]) -> None:
    note = compose_notification(make_incident(), "opened", console_url="https://wk.example/")
    assert "Link: https://wk.example/incidents/INC-2024-000017" in note.body.splitlines()


def test_person_opened_incident_message(make_incident: Callable[..., Incident]) -> None:
    incident = make_incident(
        source=Source.PERSON,
        rule="",
        key=None,
        labels={},
        annotations={},
        value=None,
        summary="Payroll site is down",
        reporter="alice",
        hosts=("web1", "web2"),
    )
    note = compose_notification(incident, "opened")
    assert note.title == "[P1] INC-2024-000017 OPEN Payroll site is down on web1"
    assert "Reported by: alice" in note.body.splitlines()
    assert "Host: web1, web2" in note.body.splitlines()


@pytest.mark.parametrize(
    ("event", "word"),
    [("opened", "告警"), ("resolved", "已恢复"), ("renotify", "仍未确认")],
    ids=["opened", "resolved", "renotify"],
)
def test_chinese_wording(make_incident: Callable[..., Incident], event: str, word: str) -> None:
    incident = make_incident(resolved_at=OPENED_AT + 90000)
    note = compose_notification(incident, event, language="zh", now=OPENED_AT + 90000)  # type: ignore[arg-type]
    assert note.title.startswith(f"[P1] INC-2024-000017 {word} FilesystemFull，主机 web1：")
    assert "主机：web1" in note.body.splitlines()
    assert "工单：INC-2024-000017" in note.body.splitlines()
    if event == "resolved":
        assert "处理时长：1d01h" in note.body.splitlines()


def test_title_fits_one_sms_even_with_a_long_summary(
    make_incident: Callable[..., Incident],
) -> None:
    note = compose_notification(make_incident(summary="x" * 500), "opened")
    assert len(note.title) == TITLE_MAX_CHARS
    assert note.title.endswith("…")


def test_string_values_and_missing_values(make_incident: Callable[..., Incident]) -> None:
    body = compose_notification(make_incident(value="degraded", annotations={}), "opened").body
    assert "Value: degraded" in body
    assert "Value" not in compose_notification(make_incident(value=None), "opened").body


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


@pytest.mark.parametrize(
    ("value", "metric", "text"),
    [
        (0.96, "filesystem_used_ratio", "96 %"),
        (2254857830.0, "memory_available_bytes", "2.1 GiB"),
        (43.0, "smart_temperature_celsius", "43 °C"),
        (11220.0, "uptime_seconds", "3h07m"),
        (0.0042, "probe_duration_seconds", "4.2 ms"),
        (12.3456, "load1", "12.3"),
        ("degraded", "raid_array_state", "degraded"),
        (1536.0, "network_receive_bytes_total", "1.5 KiB"),
    ],
    ids=["ratio", "bytes", "celsius", "seconds", "milliseconds", "plain", "state", "counter"],
)
def test_values_in_human_units(value: float | str, metric: str, text: str) -> None:
    assert format_quantity(value, metric) == text


def test_an_sms_is_the_title_cut_to_one_segment_with_the_ticket_first(
    make_incident: Callable[..., Incident],
) -> None:
    from collector.notify.message import sms_text

    english = compose_notification(make_incident(summary="x" * 300), "opened").title
    assert len(sms_text(english, "en")) == 160
    chinese = compose_notification(make_incident(summary="磁盘" * 80), "opened", "zh").title
    text = sms_text(chinese, "zh")
    assert len(text) == 70 and text.startswith("[P1] INC-2024-000017")
