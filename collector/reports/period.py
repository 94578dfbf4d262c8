"""Report periods: a calendar month in a time zone, as Unix-second boundaries."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    """One calendar month, its boundaries at local midnight in `timezone`."""

    year: int
    month: int
    timezone: str = "UTC"

    @staticmethod
    def parse(text: str, timezone: str = "UTC") -> Month:
        """`2026-10` in `timezone`; ValueError naming the value and the expected form."""
        found = MONTH_PATTERN.match(text)
        if found is None or not 1 <= int(found.group(2)) <= 12:
            raise ValueError(f"month must look like 2026-10 (YYYY-MM); got {text!r}")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {timezone!r}; use an IANA name such as Asia/Shanghai"
            ) from exc
        return Month(int(found.group(1)), int(found.group(2)), timezone)

    @property
    def label(self) -> str:
        """`2026-10`."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> float:
        """The first second of the month (Unix time)."""
        return dt.datetime(self.year, self.month, 1, tzinfo=ZoneInfo(self.timezone)).timestamp()

    @property
    def end(self) -> float:
        """The first second of the next month (Unix time): the month is [start, end)."""
        return self.shifted(1).start

    @property
    def seconds(self) -> float:
        """The month's length in seconds (a DST change makes it an hour longer or shorter)."""
        return self.end - self.start

    def shifted(self, months: int) -> Month:
        """The month `months` later (negative: earlier), in the same time zone."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1, self.timezone)
