"""On-call schedules: rotations in layers (a later layer wins) and overrides on top."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, Field, model_validator

from agent.configfile import parse_duration
from collector.response.base import (
    Identifier,
    LocalDateTime,
    ResponseModel,
    TimeOfDay,
    TimeZoneName,
)

SECONDS_PER_DAY = 86400
NAMED_LENGTHS = {"daily": SECONDS_PER_DAY, "weekly": 7 * SECONDS_PER_DAY}


def _shift_length(value: object) -> float:
    if isinstance(value, str) and value.strip() in NAMED_LENGTHS:
        return float(NAMED_LENGTHS[value.strip()])
    try:
        return parse_duration(value)  # type: ignore[arg-type]  # it rejects other types itself
    except (ValueError, TypeError):
        raise ValueError(
            f"length is daily, weekly or a duration like 12h or 2d, got {value!r}"
        ) from None


ShiftLength = Annotated[float, BeforeValidator(_shift_length)]
"""Seconds; daily and weekly are 1 and 7 days."""


class Layer(ResponseModel):
    """A rotation: participants take turns, each for `length`, handing off at `handoff`."""

    name: str = Field("", description="What this layer is for, e.g. primary or 2026 rota.")
    participants: list[Identifier] = Field(
        min_length=1, description="Person ids in turn order; one person is a valid rotation."
    )
    start: LocalDateTime = Field(
        description="When the rotation begins (ISO; without an offset, in the schedule's time "
        "zone); the first participant is on call from here to the first hand-off."
    )
    length: ShiftLength = Field(
        "weekly",
        validate_default=True,
        description="daily, weekly, or a duration: whole days (2d) hand off at the same local "
        "time across DST changes; shorter ones (12h) run on elapsed time.",
    )
    handoff: TimeOfDay | None = Field(
        None,
        description='Local time of day shifts change, e.g. "09:00" (default: the time of start); '
        "a weekly rotation hands off on the weekday of start.",
    )
    end: LocalDateTime | None = Field(None, description="When this layer stops (default never).")

    @property
    def days(self) -> int | None:
        """The shift length in local calendar days, or None for an elapsed-time rotation."""
        whole, rest = divmod(self.length, SECONDS_PER_DAY)
        return int(whole) if rest == 0 else None

    @property
    def seconds(self) -> float:
        """The shift length in seconds (a day counted as 24 hours)."""
        return self.length

    def handoff_time(self, zone: ZoneInfo) -> time:
        """The local hand-off time: `handoff`, or start's time of day in `zone`."""
        if self.handoff is not None:
            return self.handoff
        start = self.start if self.start.tzinfo is None else self.start.astimezone(zone)
        return start.time().replace(tzinfo=None)

    @model_validator(mode="after")
    def _check_length(self) -> Layer:
        if self.seconds <= 0:
            raise ValueError("length must be longer than 0; use daily, weekly, 12h, 2d...")
        if self.handoff is not None and self.days is None:
            raise ValueError(
                f"handoff only applies to rotations of whole days; drop handoff or make "
                f"length whole days (got {self.length:g} seconds)"
            )
        _check_order(self.start, self.end, "end")
        return self


class Override(ResponseModel):
    """A person covering someone's on-call time; overrides win over every layer."""

    person: Identifier = Field(description="Who is on call instead.")
    start: LocalDateTime = Field(description="From when (ISO; no offset: schedule time zone).")
    end: LocalDateTime = Field(description="Until when (exclusive).")

    @model_validator(mode="after")
    def _check_range(self) -> Override:
        _check_order(self.start, self.end, "end")
        return self


class Schedule(ResponseModel):
    """Who is on call when: layers of rotations, the later winning, then overrides."""

    id: Identifier = Field(description="Short unique id used by teams and policies.")
    name: str = Field("", description="Display name (default the id).")
    timezone: TimeZoneName = Field(
        "UTC", description="IANA zone hand-off times and offset-less times are read in."
    )
    layers: list[Layer] = Field(
        min_length=1, description="Rotations; where two cover the same time the later wins."
    )
    overrides: list[Override] = Field(
        default_factory=list, description="Cover shifts; a later override wins over an earlier."
    )

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def title(self) -> str:
        """The name, or the id when there is none."""
        return self.name or self.id


def _check_order(start: datetime, end: datetime | None, end_key: str) -> None:
    if end is None:
        return
    if (start.tzinfo is None) != (end.tzinfo is None):
        raise ValueError(
            f"give start and {end_key} both with a UTC offset or both without "
            "(then both are read in the schedule's time zone)"
        )
    if end <= start:
        raise ValueError(f"{end_key} {end.isoformat()} is not after start {start.isoformat()}")
