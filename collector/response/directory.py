"""The response configuration as the incident core sees it: which plan an incident follows,
whom a tier pages right now and by which contact methods, and when a clock's target falls.

The incident core only knows ports (`plan_for`, a Directory, a Deadline); this module
implements them over response.yaml, so the core stays ignorant of schedules and people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import quote

from collector.incidents.model import Incident
from collector.incidents.plan import ResponsePlan, SlaTargets, Tier
from collector.incidents.service import Recipient
from collector.notify.channels import Channel
from collector.notify.message import Notification
from collector.response.calendar import ALWAYS, BusinessCalendar, Period
from collector.response.model import ResponseConfig
from collector.response.oncall import tier_people
from collector.response.people import Person, Team
from collector.response.policies import Target, choose_policy
from collector.response.policies import Tier as PolicyTier
from collector.response.roster import Roster
from collector.response.service_levels import BusinessCalendar as CalendarConfig
from collector.response.service_levels import SlaTime
from rules.priority import Priority

PERSON_CHANNEL = "person:{person}/{contact}"


def person_channel(person: str, contact: str) -> str:
    """The outbox channel key of one person's contact method."""
    return PERSON_CHANNEL.format(person=person, contact=contact)


@dataclass(frozen=True)
class ResponseDirectory:
    """Answers the incident core's questions from one loaded response.yaml."""

    config: ResponseConfig
    _calendars: dict[str, BusinessCalendar] = field(default_factory=dict, compare=False)
    # People and teams managed through the API over the file's (None: the file alone).
    roster: Roster | None = field(default=None, compare=False)

    def current(self) -> ResponseConfig:
        """The configuration as of now: the file, with the API's people and teams."""
        return self.roster.config() if self.roster is not None else self.config

    def plan_for(self, incident: Incident) -> ResponsePlan | None:
        """The policy routing picks for the incident's labels, and its priority's SLA."""
        config = self.current()
        policy = choose_policy(config.policies, config.routing, incident.match_labels())
        tiers = tuple(
            Tier(
                tuple(f"{t.kind}:{t.ref}" for t in tier.targets),
                float(tier.timeout),
                tier.notify_all,
            )
            for tier in (policy.tiers if policy else [])
        )
        return ResponsePlan(
            policy=policy.id if policy else "",
            tiers=tiers,
            repeat=policy.repeat if policy else 0,
            sla=self._sla(incident.priority),
        )

    def recipients(self, tier: Tier, incident: Incident, now: float) -> list[Recipient]:
        """Who the tier pages at `now`, each by the contact methods their rules give."""
        policy_tier = PolicyTier(
            targets=[
                Target.model_validate({t.split(":", 1)[0]: t.split(":", 1)[1]})
                for t in tier.targets
            ],
            timeout=tier.timeout,
            notify_all=tier.notify_all,
        )
        at = dt.datetime.fromtimestamp(now, dt.UTC)
        config = _paging(self.current())
        found: list[Recipient] = []
        for person_id in tier_people(config, policy_tier, at):
            person = config.person(person_id)
            if person is None or person.disabled:
                continue
            for rule in person.rules_for(incident.priority):
                if rule.business_hours_only and not self._open(person.calendar, now):
                    continue
                for method in rule.methods:
                    channel = person_channel(person.id, method)
                    contact = person.contacts.get(method)
                    sms = contact is not None and contact.kind == "sms"
                    delay = float(rule.after)
                    found.append(Recipient(channel, delay, person.language, person.id, sms))
        return found

    def channels(
        self,
        make: Callable[..., Channel],
        trunk: str | None = None,
        on_keypad_ack: Callable[[Notification, str], None] | None = None,
        only: Collection[str] | None = None,
    ) -> list[Channel]:
        """A channel per person contact method, known to the outbox by its person key.

        Phone contacts are called through `trunk` (sip://user:password@pbx:5060) in the
        person's language; pressing 1 calls `on_keypad_ack(notification, person id)`. Without
        a trunk, phone contacts cannot be reached and are left out (the others still page).
        """
        found: list[Channel] = []
        for person in self.current().people:
            if only is not None and person.id not in only:
                continue
            for name, contact in person.contacts.items():
                address = contact.url.get_secret_value()
                if contact.kind != "phone":
                    channel = make(address)
                elif trunk is None:
                    continue
                else:
                    channel = make(phone_url(trunk, address, person.language))
                    if on_keypad_ack is not None:
                        channel.on_acknowledged = _bound(on_keypad_ack, person.id)  # type: ignore[attr-defined]
                found.append(KeyedChannel(channel, person_channel(person.id, name)))
        return found

    def deadline(self, start: float, seconds: float, calendar: str | None) -> float:
        """When `seconds` of `calendar`'s working time have passed after `start`."""
        if calendar is None:
            return start + seconds
        return self.calendar(calendar).add_business_seconds(start, seconds)

    def elapsed(self, start: float, end: float, calendar: str | None) -> float:
        """The seconds of `calendar`'s working time from `start` to `end` (what a paused
        clock has left); negative when `end` is before `start`."""
        if calendar is None:
            return end - start
        if end < start:
            return -self.calendar(calendar).business_seconds(end, start)
        return self.calendar(calendar).business_seconds(start, end)

    def calendar(self, name: str) -> BusinessCalendar:
        """The business calendar called `name` (24x7 if it is not configured)."""
        if name not in self._calendars:
            self._calendars[name] = _calendar_math(self.config.calendars.get(name))
        return self._calendars[name]

    def _open(self, name: str | None, now: float) -> bool:
        calendar_name = name or self.config.sla.calendar
        if calendar_name is None:
            return True
        calendar = self.calendar(calendar_name)
        return calendar.business_seconds(now, now + 1.0) > 0

    def _sla(self, priority: Priority) -> SlaTargets:
        sla = self.config.sla
        targets = sla.targets.get(priority)
        if targets is None:
            return SlaTargets(warn_at=tuple(sla.warn_at), remind_before=float(sla.update_reminder))
        calendar = self._calendar_for(sla.calendar)
        business = tuple(
            name
            for name, value in (
                ("ack", targets.ack),
                ("update", targets.update),
                ("resolve", targets.resolve),
            )
            if value is not None and value.business
        )
        return SlaTargets(
            ack=_seconds(targets.ack, calendar),
            update=_seconds(targets.update, calendar),
            resolve=_seconds(targets.resolve, calendar),
            calendar=sla.calendar,
            business_clocks=business,
            warn_at=tuple(sla.warn_at),
            remind_before=float(sla.update_reminder),
        )

    def _calendar_for(self, name: str | None) -> BusinessCalendar:
        return self.calendar(name) if name else ALWAYS


def contact_check(make: Callable[..., Channel]) -> Callable[[Person | Team], None]:
    """A check that every contact URL of a person (or a team's channel) makes a channel;
    raises ValueError naming the contact. Phone contacts are checked by their model."""

    def check(entry: Person | Team) -> None:
        contacts = entry.contacts if isinstance(entry, Person) else {"channel": entry.channel}
        for name, contact in contacts.items():
            if contact is None or contact.kind == "phone":
                continue
            try:
                make(contact.url.get_secret_value()).close()
            except ValueError as exc:
                raise ValueError(f"contact {name!r}: {exc}") from exc

    return check


def _paging(config: ResponseConfig) -> ResponseConfig:
    """`config` as paging sees it: a disabled team stands for nobody, and a team's disabled
    members are left out (its first member is then the first one enabled)."""
    disabled = {person.id for person in config.people if person.disabled}
    if not disabled and not any(team.disabled for team in config.teams):
        return config
    teams = [
        team.model_copy(update={"members": [], "schedules": []})
        if team.disabled
        else team.model_copy(update={"members": [m for m in team.members if m not in disabled]})
        for team in config.teams
    ]
    return config.model_copy(update={"teams": teams})


def _bound(
    on_keypad_ack: Callable[[Notification, str], None], person: str
) -> Callable[[Notification], None]:
    return lambda note: on_keypad_ack(note, person)


def phone_url(trunk: str, address: str, language: str) -> str:
    """The trunk's sip:// URL dialling a person's number (E.164 or the user of a sip: URI)."""
    number = (
        address.split(":", 1)[1].split("@", 1)[0] if address.lower().startswith("sip") else address
    )
    base, _, query = trunk.partition("?")
    options = "&".join(p for p in (query, f"language={language}") if p)
    return f"{base.rstrip('/')}/{quote(number, safe='+')}?{options}"


class KeyedChannel:
    """A channel known to the outbox by a key of ours (a person's contact), not by its URL."""

    def __init__(self, channel: Channel, key: str) -> None:
        self._channel = channel
        self._key = key
        self.min_priority: Priority | None = None  # a person's own rules choose priorities
        # A phone call lasts longer than the usual send; the outbox leases it for longer.
        self.max_send_seconds: float | None = getattr(channel, "max_send_seconds", None)

    def describe(self) -> str:
        """The outbox key, e.g. person:alice/mobile (no URL, so no secret)."""
        return self._key

    def send(self, notification: Notification) -> None:
        """Send through the wrapped channel."""
        self._channel.send(notification)

    def close(self) -> None:
        """Close the wrapped channel."""
        self._channel.close()


def _seconds(value: SlaTime | None, calendar: BusinessCalendar) -> float | None:
    """A target in seconds of its clock's time (business days in working seconds)."""
    if value is None:
        return None
    days = value.business_days
    return value.seconds + days * _working_day_seconds(calendar) if days else value.seconds or None


def _working_day_seconds(calendar: BusinessCalendar) -> float:
    # A business day is the calendar's longest working day (a 24x7 calendar: 24 hours).
    spans = [sum(p.end - p.start for p in periods) for periods in calendar.hours.values()]
    return float(max(spans, default=0)) or 86400.0


def _calendar_math(config: CalendarConfig | None) -> BusinessCalendar:
    if config is None:
        return ALWAYS
    country, _, subdivision = (config.holidays[0] if config.holidays else "").partition("-")
    return BusinessCalendar(
        time_zone=config.timezone,
        hours={
            day: tuple(Period.model_validate(part.strip()) for part in text.split(","))
            for day, text in config.hours.items()
        },
        holiday_country=country or None,
        holiday_subdivision=subdivision or None,
        holiday_dates=frozenset(config.extra_holidays),
    )
