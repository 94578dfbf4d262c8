"""A generated quarter of daily aggregates (2026-Q3, Asia/Shanghai) written through the real
history store, with values chosen so that every figure of the health report is known by hand.

    db-1   cpu: daily p50 0.2 on 46 days, 0.4 on 46; daily p95 0.5 on 87 days, 0.95 on 5;
           one day's max 0.99; daily mean 0.2 + 0.001·i (i = day of the quarter, 0..91)
           /data: 1000 GB, 400 GB free on day 0, 3 GB less each day -> 127 GB on day 91
           eth0: 10 receive errors a day + 100 transmit errors on one day = 1020; 5 drops
           md0 degraded on 3 days (fine at the end), recovering on 2 of them
           nvme0 worn to 85 %; sda clean; CPU1 Temp peaks at 78 °C
    web-2  sdb: 0 reallocated sectors on day 0, 120 on day 91, 2 pending
           controller c0's battery bad on the last 4 days; a fan stopped on 2 days
           / : 500 GB, 250 GB free every day (not growing)
           BMC event log: 3 entries in the quarter, 1 before it
Inventory: db-1's warranty ends 60 days after NOW; web-2's support ended 2026-05-01.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import insert

from collector.history.accumulator import DayRow
from collector.history.daily import DAY, DayAggregate
from collector.reports.inventory import HostInventory, Inventory
from collector.reports.period import Quarter
from collector.store.history import HistoryStore
from collector.store.schema import host_events

QUARTER = Quarter(2026, 3, "Asia/Shanghai")
FIRST, END = QUARTER.days  # 92 UTC days
NOW = dt.datetime(2026, 10, 5, tzinfo=dt.UTC).timestamp()
WARRANTY_END = dt.date(2026, 12, 4)  # NOW + 60 days
INVENTORY = Inventory(
    hosts={
        "db-1": HostInventory(model="Dell PowerEdge R740", serial="7XK2M03",
                              purchased=dt.date(2023, 12, 4), warranty_end=WARRANTY_END),
        "web-2": HostInventory(model="HPE DL360 Gen9", serial="CZJ61203",
                               support_end=dt.date(2026, 5, 1), customer="globex"),
    }
)  # fmt: skip


def day(
    host: str, metric: str, i: int, labels: dict[str, str] | None = None, **figures: float
) -> DayRow:
    """Day `i` of the quarter; figures default to one sample of `last`."""
    last = figures.get("last", 0.0)
    count = int(figures.get("count", 1))
    aggregate = DayAggregate(
        FIRST + i,
        count,
        figures.get("minimum", last),
        figures.get("maximum", last),
        figures.get("mean", last) * count,
        last,
        (FIRST + i) * DAY + 3600,
        figures.get("increase"),
        None,
        None,
        figures.get("p50"),
        figures.get("p95"),
    )
    return DayRow(host, metric, labels or {}, aggregate)


def quarter_rows() -> list[DayRow]:
    rows = []
    for i in range(92):
        rows += _db1(i) + _web2(i)
    return rows


def _db1(i: int) -> list[DayRow]:
    cpu = {"cpu": "total"}
    data = {"device": "/dev/sdc1", "mountpoint": "/data"}
    smart = {"model": "Samsung PM983", "serial": "S4GNNX0", "protocol": "NVMe"}
    rows = [
        day("db-1", "cpu_usage_ratio", i, cpu, count=1440, mean=0.2 + 0.001 * i,
            minimum=0.0, maximum=0.99 if i == 50 else 0.9, last=0.3,
            p50=0.2 if i < 46 else 0.4, p95=0.95 if i >= 87 else 0.5),
        day("db-1", "filesystem_avail_bytes", i, data, last=400e9 - 3e9 * i),
        day("db-1", "filesystem_size_bytes", i, data, last=1000e9),
        day("db-1", "network_receive_errors_total", i, {"interface": "eth0"}, increase=10.0),
        day("db-1", "network_transmit_errors_total", i, {"interface": "eth0"},
            increase=100.0 if i == 30 else 0.0),
        day("db-1", "network_receive_drops_total", i, {"interface": "eth0"},
            increase=5.0 if i == 31 else 0.0),
        day("db-1", "raid_array_degraded", i, {"array": "md0", "level": "raid1"},
            maximum=1.0 if 40 <= i < 43 else 0.0, last=0.0),
        day("db-1", "smart_nvme_percentage_used_ratio", i, {"device": "nvme0", **smart},
            last=0.85),
        day("db-1", "smart_reallocated_sectors", i, {"device": "sda", **smart}, last=0.0),
        day("db-1", "ipmi_temperature_celsius", i, {"sensor": "CPU1 Temp", "type": "temperature"},
            maximum=78.0 if i == 60 else 55.0, last=50.0),
    ]  # fmt: skip
    if 41 <= i < 43:
        recover = {"action": "recover", "array": "md0", "level": "raid1"}
        rows.append(day("db-1", "raid_array_sync_progress_ratio", i, recover, last=0.5))
    return rows


def _web2(i: int) -> list[DayRow]:
    disk = {"device": "sdb", "model": "ST4000NM0035", "serial": "ZC1A2B3C", "protocol": "ATA"}
    root = {"device": "/dev/sda2", "mountpoint": "/"}
    bbu = {"controller": "c0", "tool": "storcli"}
    return [
        day("web-2", "smart_reallocated_sectors", i, disk, last=120.0 if i == 91 else 0.0),
        day("web-2", "smart_pending_sectors", i, disk, last=2.0),
        day("web-2", "raid_bbu_ok", i, bbu, minimum=0.0 if i >= 88 else 1.0,
            last=0.0 if i >= 88 else 1.0),
        day("web-2", "ipmi_fan_stopped", i, {"sensor": "FAN2", "type": "fan"},
            maximum=1.0 if i in (10, 11) else 0.0),
        day("web-2", "filesystem_avail_bytes", i, root, last=250e9),
        day("web-2", "filesystem_size_bytes", i, root, last=500e9),
    ]  # fmt: skip


def write_quarter(engine: sa.Engine) -> None:
    """The quarter's rows and the BMC log entries, through the real store."""
    HistoryStore(engine).write(quarter_rows())
    times = [QUARTER.start - 3600, QUARTER.start + 86400, QUARTER.start + 2 * 86400,
             QUARTER.end - 60]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(host_events),
            [
                {"host": "web-2", "kind": "ipmi_sel", "time": t, "received_at": t,
                 "message": "Fan FAN2 | Lower Critical going low", "labels": {}}
                for t in times
            ],
        )  # fmt: skip
