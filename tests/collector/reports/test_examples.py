"""The annotated example files load through the models, so they never rot."""

from __future__ import annotations

from pathlib import Path

from collector.reports.inventory import load_inventory
from collector.reports.schedule import load_schedules

CONFIG = Path(__file__).resolve().parents[3] / "config"


def test_the_inventory_and_schedule_examples_load() -> None:
    inventory = load_inventory(CONFIG / "inventory.example.yaml")
    assert sorted(inventory.hosts) == ["db-1", "web-2"]
    schedules = load_schedules(CONFIG / "reports.example.yaml").schedules
    assert [(s.name, s.report) for s in schedules] == [
        ("acme-monthly-sla", "sla"),
        ("acme-quarterly-health", "health"),
    ]
