"""Times in the reader's zone: written with the offset, chosen per user (the /me page and PATCH
/api/v1/whoami) over the browser's zone cookie over UTC, and on the host charts' time axis;
the language chosen with the switch is stored with the user."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

import pytest
import requests

from collector.web.zones import LocalTimes, offset_text, zone_named
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector
from tests.collector.web.conftest import Browser, open_incident
from tests.collector.web.test_hosts import host_cycle

# The harness clock starts at 2027-01-15 08:00 UTC: winter in New York (UTC-5).
START = FakeClock().now


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        ("UTC", START, "2027-01-15 08:00 UTC"),
        ("Asia/Shanghai", START, "2027-01-15 16:00 UTC+8"),
        ("Asia/Kolkata", START, "2027-01-15 13:30 UTC+5:30"),
        ("America/New_York", START, "2027-01-15 03:00 UTC-5"),
        ("America/New_York", START + 180 * 86400, "2027-07-14 04:00 UTC-4"),  # daylight time
        ("America/St_Johns", START, "2027-01-15 04:30 UTC-3:30"),
    ],
)
def test_a_time_is_written_in_the_zone_with_its_offset_then(
    zone: str, at: float, expected: str
) -> None:
    assert LocalTimes(ZoneInfo(zone)).at(at) == expected
    assert LocalTimes(ZoneInfo(zone)).at(None) == ""


def test_offsets_read_plainly() -> None:
    assert [offset_text(s) for s in (0, 3600 * 8, -3600 * 5, 5 * 3600 + 45 * 60)] == [
        "UTC",
        "UTC+8",
        "UTC-5",
        "UTC+5:45",
    ]


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime"])
def test_only_known_zone_names_are_taken(name: str) -> None:
    assert zone_named(name) is None
    assert zone_named("Asia/Shanghai") == ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/New_York"])
def test_chart_marks_fall_on_the_readers_six_hour_clock(zone: str) -> None:
    times = LocalTimes(ZoneInfo(zone))
    marks = times.marks(START - 86400, START)
    assert len(marks) == 4
    assert sorted(times.clock(m) for m in marks) == ["00:00", "06:00", "12:00", "18:00"]


def test_times_follow_the_users_zone_over_the_browsers_over_utc(
    running: RunningCollector, carol: Browser
) -> None:
    assert "2027-01-15 08:00 UTC" in carol.get("/me").text, "nothing chosen: UTC"
    carol.session.cookies.set("tz", "Asia/Shanghai")
    page = carol.get("/me").text
    assert "2027-01-15 16:00 UTC+8" in page and "Asia/Shanghai" in page, "the browser's zone"
    carol.session.cookies.set("tz", "Asia%2FShanghai")
    assert "2027-01-15 16:00 UTC+8" in carol.get("/me").text, "as JavaScript's escape writes it"
    carol.session.cookies.set("tz", "Not/AZone")
    assert "2027-01-15 08:00 UTC" in carol.get("/me").text, "a bogus cookie is ignored"

    saved = carol.submit("/me", language="", time_zone="America/New_York")
    assert saved.status_code == 303 and saved.headers["location"] == "/me?saved=1"
    carol.session.cookies.set("tz", "Asia/Shanghai")
    page = carol.get("/me?saved=1").text
    assert "2027-01-15 03:00 UTC-5" in page, "the user's own choice beats the browser's"
    assert 'value="America/New_York" selected' in page and 'id="saved"' in page
    whoami = carol.get("/api/v1/whoami").json()
    assert whoami["time_zone"] == "America/New_York" and whoami["language"] is None


def test_the_preferences_form_refuses_what_it_cannot_store(
    running: RunningCollector, carol: Browser
) -> None:
    refused = carol.submit("/me", time_zone="Mars/Olympus")
    assert refused.status_code == 400
    assert "unknown time zone 'Mars/Olympus'" in html.unescape(refused.text)
    assert carol.submit("/me", language="fr").status_code == 400
    assert carol.submit("/me", csrf="forged", time_zone="UTC").status_code == 403
    assert carol.get("/api/v1/whoami").json()["time_zone"] is None, "nothing was stored"


def test_the_language_is_stored_with_the_user_and_follows_them_to_another_browser(
    running: RunningCollector, carol: Browser
) -> None:
    assert carol.submit("/me", language="zh", time_zone="").status_code == 303
    phone = Browser(running, "carol")  # a second device: no language cookie of its own
    assert '<html lang="zh-Hans">' in phone.get("/", headers={"Accept-Language": "en"}).text
    phone.get("/?lang=en")  # the switch, on the phone
    laptop = Browser(running, "carol")
    assert '<html lang="en">' in laptop.get("/", headers={"Accept-Language": "zh"}).text
    assert laptop.get("/api/v1/whoami").json()["language"] == "en"


def test_preferences_over_the_api(running: RunningCollector, carol: Browser) -> None:
    def patch(body: object, **headers: str) -> requests.Response:
        return carol.session.patch(
            f"{running.url}/api/v1/whoami", json=body, headers=headers, timeout=5
        )

    assert patch({"time_zone": "UTC"}).status_code == 403, "a browser's write needs its CSRF"
    answer = patch({"time_zone": "Asia/Shanghai", "language": "zh"}, **{"x-csrf-token": carol.csrf})
    assert answer.status_code == 200, answer.text
    assert answer.json()["time_zone"] == "Asia/Shanghai" and answer.json()["language"] == "zh"
    kept = patch({"language": None}, **{"x-csrf-token": carol.csrf}).json()
    assert kept == {**kept, "time_zone": "Asia/Shanghai", "language": None}, "left out: kept"
    bad = patch({"time_zone": "Nowhere/Land"}, **{"x-csrf-token": carol.csrf})
    assert bad.status_code == 400 and "IANA" in bad.json()["error"]["message"]
    token = requests.patch(
        f"{running.url}/api/v1/whoami", json={"time_zone": "UTC"}, headers=ADMIN_HEADERS, timeout=5
    )
    assert token.status_code == 400 and "API token" in token.json()["error"]["message"]


def test_host_charts_mark_the_readers_clock_hours_in_their_language(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    assert carol.submit("/me", language="zh", time_zone="Asia/Kolkata").status_code == 303
    for sequence in range(1, 30):
        assert running.post(host_cycle("web1", clock, sequence, 0.25)).ok
        clock.advance(3600)
    page = Browser(running, "carol").get("/hosts/web1").text  # a day on: a new session
    cpu = re.search(r'id="chart-cpu".*?</svg>', page, re.S)
    assert cpu is not None
    labels = re.findall(r'text-anchor="middle">(\d\d:\d\d)</text>', cpu.group(0))
    # Now is 18:30 in Kolkata: 18:00 is too close to the "now" label to be written beside it.
    assert sorted(labels) == ["00:00", "06:00", "12:00"], labels
    assert ">现在</text>" in cpu.group(0) and 'aria-label="CPU 使用率"' in cpu.group(0)


def test_an_eta_typed_as_a_wall_clock_time_is_read_in_the_zone_the_page_showed(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "shop down")["number"]
    assert carol.submit("/me", language="", time_zone="Asia/Shanghai").status_code == 303
    page = carol.get(f"/incidents/{number}").text
    assert '<input type="hidden" name="zone" value="Asia/Shanghai">' in page
    zone = re.search(r'name="zone" value="([^"]+)"', page)
    assert zone is not None
    sent = carol.submit(
        f"/incidents/{number}/eta", eta_at="2027-01-16T08:00", zone=zone.group(1), reason="disk"
    )
    assert sent.status_code == 303, sent.text
    shown = requests.get(
        f"{running.url}/api/v1/incidents/{number}", headers=ADMIN_HEADERS, timeout=5
    )
    assert shown.json()["eta"] == "2027-01-16T00:00:00Z", "08:00 in Shanghai is midnight UTC"
    assert "2027-01-16 08:00 UTC+8" in carol.get(f"/incidents/{number}").text
