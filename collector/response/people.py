"""People, how to reach them, when to reach them by which method, and teams."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator

from collector.response.base import Duration, Identifier, ResponseModel, TimeZoneName
from rules.priority import Priority

ContactKind = Literal["email", "sms", "phone", "chat"]
PHONE_NUMBER = re.compile(r"^\+[1-9]\d{6,14}$")
APPRISE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
ALL_PRIORITIES = tuple(Priority)


class ContactMethod(ResponseModel):
    """One way to reach a person or a team's channel."""

    kind: ContactKind = Field(description="email, sms, phone (a call) or chat.")
    url: SecretStr = Field(
        description="An Apprise URL for email/sms/chat (mailto://..., slack://...); for phone a "
        "sip: URI (sip:alice@pbx.example.com) or an E.164 number (+4915112345678)."
    )

    @model_validator(mode="after")
    def _check_url(self) -> ContactMethod:
        # The URL often carries a password: the message never repeats it.
        url = self.url.get_secret_value().strip()
        if self.kind == "phone":
            if not (url.lower().startswith(("sip:", "sips:")) or PHONE_NUMBER.match(url)):
                raise ValueError(
                    "a phone contact is a sip: URI like sip:alice@pbx.example.com or an "
                    "E.164 number like +4915112345678 (plus sign, country code, no spaces)"
                )
        elif not APPRISE_URL.match(url):
            article = "an" if self.kind == "email" else "a"
            raise ValueError(
                f"{article} {self.kind} contact is an Apprise URL written scheme://..., e.g. "
                "mailto://user:pass@smtp.example.com?to=alice@example.com or "
                "slack://tokenA/tokenB/tokenC"
            )
        return self


class NotificationRule(ResponseModel):
    """Which contact methods page a person for which priorities, and how long after paging."""

    priorities: list[Priority] = Field(
        default_factory=lambda: list(ALL_PRIORITIES),
        min_length=1,
        description="Priorities this rule applies to (default all, P1..P4).",
    )
    methods: list[Identifier] = Field(
        min_length=1, description="Names of the person's contacts to use, all at once."
    )
    after: Duration = Field(
        0.0,
        description="Delay after the person is paged (0: at once); an acknowledgement before "
        "then cancels it, so later rules are the louder fallback.",
    )
    business_hours_only: bool = Field(
        False,
        description="Only inside business hours of the person's calendar (or sla.calendar).",
    )


class Person(ResponseModel):
    """Someone who can be paged."""

    id: Identifier = Field(description="Short unique id used in teams, schedules, policies.")
    name: str = Field(min_length=1, description="Full name shown in messages and calendars.")
    timezone: TimeZoneName = Field("UTC", description="IANA time zone, e.g. Asia/Shanghai.")
    language: Literal["en", "zh"] = Field("en", description="Language of messages and calls.")
    contacts: dict[Identifier, ContactMethod] = Field(
        default_factory=dict, description="Named contact methods, e.g. work-mail, mobile."
    )
    notification_rules: list[NotificationRule] = Field(
        default_factory=list,
        description="When to use which contacts; none: every contact at once for every priority.",
    )
    calendar: Identifier | None = Field(
        None,
        description="Business calendar for business_hours_only rules (default sla.calendar).",
    )
    disabled: bool = Field(
        False,
        description="Never paged (still named in schedules and on old incidents); set here or "
        "through the API (POST /api/v1/people/ID/disable).",
    )

    @property
    def zone(self) -> ZoneInfo:
        """The person's time zone."""
        return ZoneInfo(self.timezone)

    def rules_for(self, priority: Priority) -> list[NotificationRule]:
        """The rules that apply to `priority`, in delay order (the default when none given)."""
        if not self.notification_rules:
            return [NotificationRule(methods=list(self.contacts))] if self.contacts else []
        found = [rule for rule in self.notification_rules if priority in rule.priorities]
        return sorted(found, key=lambda rule: rule.after)


class Team(ResponseModel):
    """People who answer for the same services, with an optional shared channel."""

    id: Identifier = Field(description="Short unique id, also the `team` label routes match.")
    name: str = Field(min_length=1, description="Display name.")
    members: list[Identifier] = Field(
        default_factory=list, description="Ids of the people in the team."
    )
    channel: ContactMethod | None = Field(
        None, description="The team's chat or mail channel for updates (not a pager)."
    )
    schedules: list[Identifier] = Field(
        default_factory=list,
        description="On-call schedules this team staffs: `watchkeeper oncall TEAM` shows them.",
    )
    disabled: bool = Field(
        False, description="A tier naming this team pages nobody through it (API: disable)."
    )
