"""End of warranty and end of support: which hosts are past or near either date, and the job
that opens a P4 incident ahead of each date, once (claimed in report_runs before opening)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from collector.incidents.events import PersonOpened
from collector.incidents.model import Incident
from collector.reports.inventory import Inventory
from collector.store.schema import report_runs
from rules.priority import Priority

log = logging.getLogger(__name__)

DEFAULT_LEAD_DAYS = 90
ACTOR = "watchkeeper (end of life)"
KINDS = ("warranty", "support")
TITLES = {
    "en": {
        "warranty": "Warranty of {host} ends on {date} (in {days} days)",
        "support": "Vendor support for {host} ends on {date} (in {days} days)",
    },
    "zh": {
        "warranty": "{host} 的保修将于 {date} 到期（还有 {days} 天）",
        "support": "{host} 的厂商支持将于 {date} 结束（还有 {days} 天）",
    },
}


@dataclass(frozen=True)
class EndOfLife:
    """One host's warranty or support end, and the days left from the day asked about."""

    host: str
    kind: str  # warranty | support
    date: dt.date
    days_left: int  # negative: already past
    model: str = ""
    serial: str = ""


def ending(inventory: Inventory, today: dt.date, within_days: int) -> list[EndOfLife]:
    """Every warranty or support end already past or within `within_days` of `today`,
    soonest first."""
    found = []
    for host, item in inventory.hosts.items():
        for kind, date in (("warranty", item.warranty_end), ("support", item.support_end)):
            if date is not None and (date - today).days <= within_days:
                found.append(
                    EndOfLife(host, kind, date, (date - today).days, item.model, item.serial)
                )
    return sorted(found, key=lambda e: (e.date, e.host, e.kind))


class EndOfLifeWatch:
    """Opens one P4 incident per host and date, `lead_days` before the date (or at once when
    the collector first sees a date already that close), through the incident core."""

    def __init__(
        self,
        inventory: Callable[[], Inventory],
        open_incident: Callable[[PersonOpened], Incident],
        engine: Engine,
        clock: Callable[[], float],
        lead_days: int = DEFAULT_LEAD_DAYS,
        language: str = "en",
    ) -> None:
        self._inventory = inventory
        self._open = open_incident
        self._engine = engine
        self._clock = clock
        self.lead_days = lead_days
        self._titles = TITLES.get(language, TITLES["en"])

    def run(self) -> list[Incident]:
        """Open the incidents now due; the ones opened."""
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()
        opened = []
        for item in ending(self._inventory(), today, self.lead_days):
            if item.days_left < 0:
                continue  # past: listed in the health report, no longer news
            if not self._claim(item):
                continue
            try:
                opened.append(self._open_for(item))
            except Exception:
                self._unclaim(item)  # not opened: the next run tries again
                raise
        return opened

    def check(self) -> int:
        """The periodic job: `run`, returning how many incidents it opened."""
        return len(self.run())

    def _claim(self, item: EndOfLife) -> bool:
        key = _key(item)
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(report_runs).values(
                        key=key, kind="end_of_life", created_at=self._clock()
                    )
                )
        except IntegrityError:
            return False  # opened before (or by another collector)
        return True

    def _unclaim(self, item: EndOfLife) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(report_runs).where(report_runs.c.key == _key(item)))

    def _open_for(self, item: EndOfLife) -> Incident:
        title = self._titles[item.kind].format(host=item.host, date=item.date, days=item.days_left)
        detail = ", ".join(x for x in (item.model, item.serial and f"serial {item.serial}") if x)
        incident = self._open(
            PersonOpened(
                actor=ACTOR,
                title=title,
                priority=Priority.P4,
                description=f"{title}. {detail}".strip(),
                hosts=(item.host,),
            )
        )
        log.info(
            "end of %s for %s on %s: opened %s", item.kind, item.host, item.date, incident.number
        )
        return incident


def _key(item: EndOfLife) -> str:
    return f"eol:{item.host}:{item.kind}:{item.date.isoformat()}"
