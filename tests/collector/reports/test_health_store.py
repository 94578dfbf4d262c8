"""The health report read from a generated quarter of daily aggregates, on SQLite and
PostgreSQL: every figure equals the value worked out by hand in health_scenario.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from collector.reports.advice import recommendations
from collector.reports.baselines import Baseline, NetworkErrors
from collector.reports.hardware import ComponentState, SensorExtremes
from collector.reports.health import HealthOptions, HealthReport, build_health_report, host_filter
from collector.reports.period import Quarter
from collector.store.history import HistoryStore
from tests.collector.reports.health_scenario import (
    FIRST,
    INVENTORY,
    NOW,
    QUARTER,
    WARRANTY_END,
    day,
    write_quarter,
)


@pytest.fixture
def report(engine: sa.Engine) -> HealthReport:
    write_quarter(engine)
    return build_health_report(engine, HealthOptions(QUARTER), INVENTORY, NOW)


def test_resource_baselines_are_the_median_and_p95_of_the_daily_figures(
    report: HealthReport,
) -> None:
    assert report.hosts == ["db-1", "web-2"]
    [cpu] = report.baselines
    # 46th smallest daily p50 (46 × 0.2, 46 × 0.4); 88th smallest daily p95 (87 × 0.5, 5 × 0.95)
    assert cpu == Baseline("db-1", "cpu", 92, 0.2, 0.95, 0.99, cpu.trend)
    assert cpu.trend == pytest.approx(0.03)  # the daily mean grows 0.001 a day


def test_filesystem_growth_and_days_until_full(report: HealthReport) -> None:
    data, root = report.filesystems
    assert (data.host, data.mountpoint, data.size_bytes, data.avail_bytes) == (
        "db-1", "/data", 1000e9, 127e9,
    )  # fmt: skip
    assert data.growth_bytes_per_day == pytest.approx(3e9)
    assert data.days_until_full == pytest.approx(127 / 3)  # 42.3 days
    assert (root.host, root.days_until_full, root.used_ratio) == ("web-2", None, 0.5)


def test_network_errors_disks_arrays_and_sensors(report: HealthReport) -> None:
    assert report.network == [NetworkErrors("db-1", "eth0", 1020.0, 5.0)]
    ranked = [(d.host, d.device, d.score, d.high) for d in report.disks]
    # sdb: 120 reallocated + 2 pending × 10 + 120 grown × 5; nvme0 worn to 85 %: 50
    assert ranked == [("web-2", "sdb", 740.0, True), ("db-1", "nvme0", 50.0, False),
                      ("db-1", "sda", 0.0, False)]  # fmt: skip
    assert report.disks[0].reallocated_growth == 120.0
    assert report.disks[0].serial == "ZC1A2B3C"
    assert report.components == [
        ComponentState("web-2", "c0", "battery fault", 4, 0, True),
        ComponentState("db-1", "md0", "degraded", 3, 2, False),
    ]
    assert report.sensors == [
        SensorExtremes("db-1", 78.0, "CPU1 Temp", 0, 0),
        SensorExtremes("web-2", None, "", 2, 0),
    ]
    assert report.bmc_events == {"web-2": 3}  # the entry before the quarter is not counted
    assert [(e.host, e.time) for e in report.bmc_log] == [
        ("web-2", QUARTER.start + 86400),
        ("web-2", QUARTER.start + 2 * 86400),
        ("web-2", QUARTER.end - 60),
    ]
    assert report.bmc_log[0].message == "Fan FAN2 | Lower Critical going low"


def test_end_of_life_lists_past_and_coming_dates(report: HealthReport) -> None:
    assert [(e.host, e.kind, e.days_left) for e in report.end_of_life] == [
        ("web-2", "support", -157),
        ("db-1", "warranty", 60),
    ]
    assert report.end_of_life[1].date == WARRANTY_END
    assert list(report.inventory) == ["db-1", "web-2"]


def test_recommendations_in_english_and_chinese(report: HealthReport) -> None:
    english = recommendations(report, "en")
    assert english == [
        "Filesystem /data on db-1 will be full in about 42 days at its current growth "
        "(3.0 GB a day); extend it or clean up.",
        "Disk sdb on web-2 has 120 reallocated and 2 pending sectors and rising "
        "(+120 this quarter): plan a replacement.",
        "c0 on web-2 still had a problem at the end of the quarter (battery fault, 4 days in "
        "all); replace the failed part and let it rebuild.",
        "A fan or power supply of web-2 failed on 2 days this quarter; have it checked.",
        "Vendor support for web-2 ended on 2026-05-01; plan the replacement.",
        "The warranty of db-1 ends on 2026-12-04 (in 60 days); renew it or plan the replacement.",
        "CPU on db-1 is busy: 95 % on a busy day (95th percentile); review the workload or "
        "add capacity.",
        "Interface eth0 on db-1 counted 1020 errors this quarter; check the cable, the switch "
        "port and the duplex setting.",
    ]
    chinese = recommendations(report, "zh")
    assert chinese[0] == (
        "db-1 上的文件系统 /data 按当前增长速度（每天 3.0 GB）约 42 天后写满；请扩容或清理。"
    )
    assert (
        "web-2 上的磁盘 sdb 有 120 个重新分配扇区和 2 个待处理扇区，且仍在增加（本季度 +120）"
        in chinese[1]
    )
    assert "电池故障" in chinese[2]


def test_a_host_glob_narrows_the_report(engine: sa.Engine) -> None:
    write_quarter(engine)
    options = HealthOptions(QUARTER, host_filter("web-*", None))
    web = build_health_report(engine, options, INVENTORY, NOW)
    assert web.hosts == ["web-2"] and web.baselines == [] and web.network == []
    assert [e.host for e in web.end_of_life] == ["web-2"]


@pytest.mark.parametrize(
    ("timezone", "first", "last"),
    [
        ("Asia/Shanghai", "2026-07-01", "2026-09-30"),  # +08: starts 06-30 16:00 UTC
        ("America/New_York", "2026-07-01", "2026-09-30"),  # -04: starts 07-01 04:00 UTC
        ("Pacific/Kiritimati", "2026-06-30", "2026-09-29"),  # +14: starts 06-30 10:00 UTC
    ],
    ids=["shanghai", "new-york", "kiritimati"],
)
def test_quarter_days_in_a_time_zone_are_the_utc_days_mostly_inside_it(
    timezone: str, first: str, last: str
) -> None:
    import datetime as dt

    start, end = Quarter.parse("2026-Q3", timezone).days
    as_date = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + start)
    to_date = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + end - 1)
    assert (as_date.isoformat(), to_date.isoformat()) == (first, last)


def test_a_day_belongs_to_the_quarter_of_the_reports_time_zone(engine: sa.Engine) -> None:
    june_30 = day("edge-1", "memory_used_ratio", -1, p50=0.9, p95=0.99, last=0.9)
    july_1 = day("edge-1", "memory_used_ratio", 0, p50=0.4, p95=0.5, last=0.4)
    HistoryStore(engine).write([june_30, july_1])
    assert june_30.aggregate.day == FIRST - 1

    def memory(timezone: str) -> list[tuple[int, float]]:
        options = HealthOptions(Quarter.parse("2026-Q3", timezone))
        found = build_health_report(engine, options, INVENTORY, NOW).baselines
        return [(b.days, b.p95) for b in found]

    assert memory("Asia/Shanghai") == [(1, 0.5)]  # 30 June UTC is still June in Shanghai
    assert memory("Pacific/Kiritimati") == [(2, 0.99)]  # but mostly July 1 at +14


def test_html_shows_the_first_200_rows_of_a_long_table_and_the_csv_all(
    report: HealthReport,
) -> None:
    import dataclasses

    from collector.reports.baselines import FilesystemGrowth
    from collector.reports.health_render import render_health_csv, render_health_html

    many = [FilesystemGrowth(f"h-{n:03d}", "/", 1e12, 5e11, None, None) for n in range(250)]
    long = dataclasses.replace(report, filesystems=many)
    html = render_health_html(long)
    assert "h-199" in html and "h-200" not in html
    assert "The first 200 of 250 rows; the CSV has them all." in html
    csv = render_health_csv(long, table="filesystems").decode("utf-8-sig")
    assert len(csv.splitlines()) == 251


def test_hardware_the_probes_identified_is_listed_and_fills_the_inventory_gaps(
    engine: sa.Engine,
) -> None:
    from agent.report import InventoryItem
    from collector.reports.health_tables import health_tables
    from collector.reports.inventory import HostInventory, Inventory
    from collector.reports.seen import SeenHardware

    write_quarter(engine)
    seen = {
        "db-1": [
            InventoryItem("system", "system", "Dell Inc.", "PowerEdge R750", "8YK3M04"),
            InventoryItem("disk", "/dev/sda", "", "ST4000NM0035", "ZC1A2B3C", "TN05"),
        ]
    }
    bare = Inventory(hosts={"db-1": HostInventory(warranty_end=WARRANTY_END)})
    found = build_health_report(
        engine,
        HealthOptions(QUARTER),
        bare,
        NOW,
        SeenHardware(lambda: list(seen), lambda h: seen.get(h, [])),
    )
    tables = {t.name: t for t in health_tables(found)}
    assert tables["hardware"].rows == [
        ["db-1", "system", "system", "Dell Inc.", "PowerEdge R750", "8YK3M04", ""],
        ["db-1", "disk", "/dev/sda", "", "ST4000NM0035", "ZC1A2B3C", "TN05"],
    ]
    assert tables["inventory"].rows == [
        ["db-1", "Dell Inc. PowerEdge R750", "8YK3M04", "", "2026-12-04", ""]
    ]
