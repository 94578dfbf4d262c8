"""Every built-in rule filters and speaks only with labels its metric actually carries.

"Carries" is measured, not declared: tests/rules/emitted.py runs every real capture through its
probe (the same samples the metric catalogue is checked against). A label counts as carried
only when *every* sample of the metric has it; a matcher or a `{{ labels.x }}` on a label some
samples lack is the defect this test exists for (a RAID0 exclusion that never applied because
raid_level sat on one virtual-drive metric only).
"""

from __future__ import annotations

import re

import pytest

from rules.loader import load_rules
from rules.model import IMPLICIT_LABELS, Rule
from tests.rules.emitted import collect_emitted

Catalogue = dict[str, frozenset[str]]
_LABEL_REFERENCE = re.compile(r"\blabels\.([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    """metric -> the labels every one of its samples carries."""
    emitted = collect_emitted(tmp_path_factory.mktemp("emitted"))
    return {name: metric.always for name, metric in emitted.items()}


def _summaries(rule: Rule) -> list[str]:
    return list(rule.summary.values()) if isinstance(rule.summary, dict) else [rule.summary]


RULES = [compiled.rule for compiled in load_rules().rules if compiled.rule.metric]


def test_the_catalogue_covers_every_probe(catalogue: Catalogue) -> None:
    for metric in ("raid_vd_redundancy_left", "smart_health_passed", "ipmi_bmc_up",
                   "sensor_critical", "cpu_usage_ratio", "interface_oper_up",
                   "snmp_trap_received_total", "raid_array_failed",
                   "network_probe_up", "tls_certificate_expiry_days",
                   "redfish_drive_health", "redfish_storage_controller_health"):  # fmt: skip
        assert metric in catalogue, metric


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rule_uses_only_labels_its_metric_carries(catalogue: Catalogue, rule: Rule) -> None:
    assert rule.metric in catalogue, f"{rule.name}: no probe emits {rule.metric!r}"
    carried = catalogue[rule.metric] | IMPLICIT_LABELS
    assert set(rule.match) <= carried, (
        f"{rule.name} matches on {sorted(set(rule.match) - carried)}, which not every "
        f"{rule.metric} sample carries (it carries {sorted(carried)})"
    )
    used = {name for text in _summaries(rule) for name in _LABEL_REFERENCE.findall(text)}
    assert used <= carried, (
        f"{rule.name}'s summary names {sorted(used - carried)}, which not every "
        f"{rule.metric} sample carries (it carries {sorted(carried)})"
    )


def test_raid_level_reaches_every_virtual_drive_metric(catalogue: Catalogue) -> None:
    vd_metrics = [metric for metric in catalogue if metric.startswith("raid_vd_")]
    assert len(vd_metrics) >= 6
    for metric in vd_metrics:
        assert {"controller", "vd", "tool", "raid_level"} <= catalogue[metric], metric
