"""Report periods: a calendar month or quarter in a time zone, as Unix-second boundaries."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
DAY_SECONDS = 86400.0


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


QUARTER_PATTERN = re.compile(r"^(\d{4})-[Qq]([1-4])$")
HALF_DAY = 43200.0


@dataclass(frozen=True)
class Quarter:
    """One calendar quarter, its boundaries at local midnight in `timezone`."""

    year: int
    quarter: int
    timezone: str = "UTC"

    @staticmethod
    def parse(text: str, timezone: str = "UTC") -> Quarter:
        """`2026-Q3` in `timezone`; ValueError naming the value and the expected form."""
        found = QUARTER_PATTERN.match(text)
        if found is None:
            raise ValueError(f"quarter must look like 2026-Q3 (YYYY-Qn, n 1-4); got {text!r}")
        Month.parse(f"{found.group(1)}-01", timezone)  # checks the time zone
        return Quarter(int(found.group(1)), int(found.group(2)), timezone)

    @property
    def label(self) -> str:
        """`2026-Q3`."""
        return f"{self.year:04d}-Q{self.quarter}"

    @property
    def first_month(self) -> Month:
        """The quarter's first month."""
        return Month(self.year, 3 * self.quarter - 2, self.timezone)

    @property
    def start(self) -> float:
        """The first second of the quarter (Unix time)."""
        return self.first_month.start

    @property
    def end(self) -> float:
        """The first second of the next quarter: the quarter is [start, end)."""
        return self.first_month.shifted(3).start

    @property
    def days(self) -> tuple[int, int]:
        """The UTC days of the history that belong to the quarter, as [first, last): those
        whose middle (12:00 UTC) falls inside it, so a day goes where most of it lies."""
        return (
            math.ceil((self.start - HALF_DAY) / DAY_SECONDS),
            math.ceil((self.end - HALF_DAY) / DAY_SECONDS),
        )

    def shifted(self, quarters: int) -> Quarter:
        """The quarter `quarters` later (negative: earlier), in the same time zone."""
        index = self.year * 4 + self.quarter - 1 + quarters
        return Quarter(index // 4, index % 4 + 1, self.timezone)
