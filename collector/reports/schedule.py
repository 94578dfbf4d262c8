"""Report schedules: which report goes to which customer's contacts, when (cron in the
customer's time zone), read once from a YAML file into frozen models (file:line errors)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.configfile import load_yaml_file
from collector.reports.period import Month, Quarter
from rules.loader import RuleLoadError, validation_errors


class ScheduleModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportSchedule(ScheduleModel):
    """One report mailed to one customer's contacts after each period."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id, e.g. acme-sla.")
    report: Literal["sla", "health"] = Field(
        description="sla: the month before the run; health: the quarter before the run."
    )
    customer: str = Field(description="The customer (customers file) whose contacts get it.")
    cron: str = Field("0 9 1 * *", description="When, in `timezone`: 09:00 on the 1st.")
    timezone: str = Field("UTC", description="The customer's time zone, e.g. Asia/Shanghai.")
    language: Literal["en", "zh"] = Field("en", description="The report's language.")
    recipients: list[str] = Field(
        default_factory=list,
        description="E-mail addresses of the customer's contacts to send it to; "
        "empty: every contact with an e-mail address.",
    )
    catch_up_hours: float = Field(
        24.0,
        ge=0,
        description="A run missed while the collector was down is made up this long after.",
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"not a cron expression: {value!r}; e.g. '0 9 1 * *'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        Month.parse("2026-01", value)  # raises naming the zone
        return value

    def last_run(self, now: float) -> float | None:
        """The latest run time at or before `now`, if it is within the catch-up time."""
        local = dt.datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        earlier = croniter(self.cron, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
        at = float(earlier.timestamp())
        return at if now - at <= self.catch_up_hours * 3600 else None

    def period(self, run_at: float) -> Month | Quarter:
        """The period a run at `run_at` reports on: the month or quarter before it."""
        local = dt.datetime.fromtimestamp(run_at, ZoneInfo(self.timezone))
        if self.report == "sla":
            return Month(local.year, local.month, self.timezone).shifted(-1)
        return Quarter(local.year, (local.month - 1) // 3 + 1, self.timezone).shifted(-1)


class ReportSchedules(ScheduleModel):
    """Every schedule."""

    schedules: list[ReportSchedule] = Field(default_factory=list, description="Each schedule.")


def load_schedules(path: Path) -> ReportSchedules:
    """Read the schedules file; every problem raised as one RuleLoadError with file:line."""
    document = load_yaml_file(path)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise RuleLoadError([document.error((), "the reports file is a mapping: schedules:")])
    try:
        return ReportSchedules.model_validate(data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, ReportSchedules)) from exc
