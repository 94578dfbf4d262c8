"""The on-call page marks cover shifts: the person on call now by an override is badged so,
the week's shifts show which are overrides, and each override says whom it covers for; times
in the reader's zone."""

from __future__ import annotations

import re
from pathlib import Path

from collector.auth.roles import Role
from tests.collector.harness import FakeClock, RunningCollector
from tests.collector.web.conftest import PASSWORD, Browser

# The harness clock starts at 2027-01-15 08:00 UTC, a Friday.
RESPONSE = """\
people:
  - {id: alice, name: Alice}
  - {id: bob, name: Bob}
  - {id: olga, name: Olga}
schedules:
  - id: primary
    timezone: Asia/Shanghai
    layers:
      - {participants: [alice, bob], start: '2027-01-04T09:00', length: weekly}
    overrides:
      - {person: olga, start: '2027-01-15T12:00', end: '2027-01-16T12:00'}
      - {person: olga, start: '2027-01-01T00:00', end: '2027-01-02T00:00'}
"""


def test_an_override_is_marked_now_in_the_shifts_and_says_whom_it_covers(
    tmp_path: Path, clock: FakeClock
) -> None:
    (tmp_path / "response.yaml").write_text(RESPONSE)
    running = RunningCollector(tmp_path, clock, channels=[], response=tmp_path / "response.yaml")
    try:
        running.collector.access.add_user("vera", PASSWORD, Role.VIEWER)
        page = Browser(running, "vera").get("/oncall").text
        now = re.search(r'<p class="now">.*?</p>', page, re.S)
        assert now is not None and "Olga" in now.group(0), "16:00 in Shanghai: Olga covers"
        assert 'class="badge override"' in now.group(0)
        rows = re.findall(r"<tr( class=\"override\")?><td data-label=\"Who\">(\w+)", page)
        assert ("", "Bob") in rows, "Bob's rotation resumes after the cover"
        assert (' class="override"', "Olga") in rows and (' class="override"', "Bob") not in rows
        overrides = re.search(r'<ul class="overrides">(.*?)</ul>', page, re.S)
        assert overrides is not None
        assert overrides.group(1).count("<li>") == 1, "a past override is not listed"
        assert "covers for Bob" in overrides.group(1)
        assert "2027-01-15 04:00 UTC" in overrides.group(1), "noon in Shanghai, in the reader's UTC"
        bar = re.search(r'<div class="bar">(.*?)</div>', page, re.S)
        assert bar is not None
        segments = re.findall(
            r'<span class="seg who-(\d)( override)?" style="left: ([\d.]+)%; width: ([\d.]+)%"'
            r' title="(\w+):',
            bar.group(1),
        )
        assert [(who, bool(cover)) for _c, cover, _l, _w, who in segments][:2] == [
            ("Olga", True),
            ("Bob", False),
        ], "the week from now: Olga's cover, then Bob's rotation"
        assert float(segments[0][2]) == 0.0 and abs(sum(float(s[3]) for s in segments) - 100) < 0.1
        assert segments[0][0] != segments[1][0], "a colour per person"
        days = re.findall(r'<div class="days">(.*?)</div>', page, re.S)[0]
        assert "01-16" in days and days.count("<span") == 7, "the reader's midnights (UTC)"
        assert "替班" in Browser(running, "vera").get("/oncall?lang=zh").text
    finally:
        running.stop()
