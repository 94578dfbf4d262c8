"""The default severity mappings of each kind, the host label without its port, and Checkmk
notifications that are not alerts."""

from __future__ import annotations

import pytest

from collector.config import IntegrationToken
from collector.integrations.alerts import host_of, priority_of
from collector.integrations.checkmk import CheckmkPayload, alerts_of
from rules.priority import Priority


def integration(kind: str) -> IntegrationToken:
    return IntegrationToken(name="x", kind=kind, token="t")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "severity", "priority"),
    [
        ("alertmanager", "critical", Priority.P1),
        ("alertmanager", "error", Priority.P2),
        ("alertmanager", "warning", Priority.P3),
        ("alertmanager", "info", Priority.P4),
        ("alertmanager", "odd", Priority.P3),  # the default priority
        ("zabbix", "Disaster", Priority.P1),
        ("zabbix", "High", Priority.P2),
        ("zabbix", "Average", Priority.P3),
        ("zabbix", "Warning", Priority.P3),
        ("zabbix", "Information", Priority.P4),
        ("zabbix", "Not classified", Priority.P4),
        ("checkmk", "DOWN", Priority.P1),
        ("checkmk", "UNREACHABLE", Priority.P2),
        ("checkmk", "CRITICAL", Priority.P2),
        ("checkmk", "WARNING", Priority.P3),
        ("checkmk", "UNKNOWN", Priority.P3),
    ],
)
def test_default_priorities(kind: str, severity: str, priority: Priority) -> None:
    assert priority_of({"severity": severity}, integration(kind)) is priority


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("db-01.example.net:9100", "db-01.example.net"),
        ("10.0.0.7:9100", "10.0.0.7"),
        ("[2001:db8::7]:9100", "2001:db8::7"),
        ("2001:db8::7", "2001:db8::7"),
        ("web-01", "web-01"),
    ],
)
def test_the_host_label_loses_its_port(value: str, host: str) -> None:
    assert host_of({"instance": value}, ["instance"]) == host


@pytest.mark.parametrize(
    "kind", ["ACKNOWLEDGEMENT", "DOWNTIMESTART", "DOWNTIMEEND", "FLAPPINGSTART", "CUSTOM"]
)
def test_checkmk_notices_that_are_not_alerts(kind: str) -> None:
    payload = CheckmkPayload.model_validate(
        {"NOTIFY_WHAT": "HOST", "NOTIFY_NOTIFICATIONTYPE": kind, "NOTIFY_HOSTNAME": "h"}
    )
    assert alerts_of(payload) == []
