"""Flap damping that keeps the last word: one "flapping" message, the changes after it
recorded but not sent, and the final state always sent once the series holds still."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.notify.channels import RecordingChannel
from rules.loader import load_rules
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for

FAST_RULE = """\
group: t
rules:
  - name: MemoryFlaps
    priority: P2
    metric: memory_used_ratio
    above: 0.9
    summary: "memory {{ value }}"
"""


@pytest.mark.parametrize(
    ("last", "final_event"),
    [(0.99, "settled"), (0.5, "resolved")],
    ids=["still-failing", "recovered"],
)
def test_a_flapping_series_tells_once_then_its_final_state(
    tmp_path: Path, last: float, final_event: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(FAST_RULE)
    clock, recorder = FakeClock(), RecordingChannel("ops")
    running = RunningCollector(
        tmp_path, clock, channels=[recorder], rules=load_rules([path], include_builtin=False)
    )
    try:
        values = [0.99, 0.5, 0.99, 0.5, 0.99, 0.5, 0.99, 0.5, last]  # a change every minute
        for sequence, value in enumerate(values, start=1):
            running.post(host_report("web1", clock, sequence, memory_used_ratio=value))
            clock.advance(60)
        wait_for(lambda: "flapping" in [n.event for n in recorder.notifications])
        told = [n.event for n in recorder.notifications]
        # Told until the 4th change after opening within 30 minutes, which starts the flap.
        assert told == ["opened", "resolved", "reopened", "resolved", "flapping"]
        clock.advance(600)  # held still for the settling time
        running.collector.incidents.run_due_timers()
        wait_for(lambda: len(recorder.notifications) == 6)
        assert recorder.notifications[-1].event == final_event
        [incident] = running.get("/api/v1/incidents?state=all")
        names = [
            e["name"] for e in running.get(f"/api/v1/incidents/{incident['number']}")["timeline"]
        ]
        changes = [n for n in names if n in ("REOPEN", "RESOLVE")]
        assert names.count("SETTLED") == 1, "the final word, once"
        assert len(changes) == (8 if last > 0.9 else 7), "every change is on the timeline"
    finally:
        running.stop()
