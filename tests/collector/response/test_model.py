"""The response file: the annotated example loads; every kind of mistake names file and line."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from pydantic import BaseModel

from collector.response.model import ResponseConfig, load_response
from collector.response.policies import Route, choose_policy
from collector.response.service_levels import SlaConfig, SlaTime
from rules.loader import RuleLoadError
from rules.priority import Priority

EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "response.example.yaml"

PEOPLE = """\
people:
  - id: alice
    name: Alice
    contacts:
      mail: {kind: email, url: "mailto://u:secret-pw@smtp.example.com?to=a@example.com"}
  - id: bob
    name: Bob
"""


def test_annotated_example_loads_through_the_model() -> None:
    config = load_response(EXAMPLE)
    assert [p.id for p in config.people] == ["alice", "wang-wei", "bob", "carol"]
    alice = config.people[0]
    assert alice.zone.key == "Europe/Berlin"
    assert {name: c.kind for name, c in alice.contacts.items()} == {
        "work-mail": "email",
        "mobile-sms": "sms",
        "mobile-call": "phone",
        "chat": "chat",
    }
    assert [(r.methods, r.after) for r in alice.rules_for(Priority.P2)] == [
        (["mobile-sms"], 0.0),
        (["mobile-call"], 300.0),
    ]
    assert config.people[1].language == "zh"
    layer = config.schedules[0].layers[0]
    assert (layer.days, layer.handoff) == (7, time(9, 0))
    assert config.schedules[1].layers[0].days is None, "12h runs on elapsed time"
    assert config.policies[0].tiers[2].notify_all and config.policies[0].repeat == 1
    assert config.sla.calendar == "berlin-office"
    assert config.calendars["beijing-office"].windows("mon") == (
        (time(9), time(12)),
        (time(13), time(18)),
    )
    assert config.calendars["berlin-office"].extra_holidays[0] == date(2026, 12, 24)


def test_example_routes_incidents_by_label() -> None:
    config = load_response(EXAMPLE)
    route = config.routing

    def policy_for(labels: dict[str, str]) -> str | None:
        found = choose_policy(config.policies, route, labels)
        return found.id if found else None

    assert policy_for({"team": "database"}) == "database"
    assert policy_for({"host": "db-07"}) == "database"
    assert policy_for({"host": "web-01", "team": "platform"}) == "platform", "the default"


def test_sla_targets_keep_defaults_for_what_is_not_given() -> None:
    config = load_response(EXAMPLE)
    p2 = config.sla.for_priority(Priority.P2)
    assert p2.ack == SlaTime(seconds=900.0), "P2 ack keeps its default"
    assert p2.resolve == SlaTime(seconds=8 * 3600.0, business=True)
    defaults = SlaConfig()
    assert defaults.warn_at == [0.5, 0.8]
    table = {p: defaults.for_priority(p) for p in Priority}
    assert (table[Priority.P1].ack.seconds, table[Priority.P1].resolve.seconds) == (300, 3600)
    assert table[Priority.P1].update == SlaTime(seconds=900.0)
    assert table[Priority.P3].update is None
    assert table[Priority.P3].resolve == SlaTime(business_days=1, business=True)
    assert table[Priority.P4].resolve == SlaTime(business_days=5, business=True)
    assert table[Priority.P4].ack == SlaTime(seconds=4 * 3600.0)


def test_contact_passwords_are_not_in_the_repr() -> None:
    config = load_response(EXAMPLE)
    assert "app-password" not in repr(config)
    assert "app-password" not in str(config.people[0].contacts)


def test_a_person_without_rules_gets_every_contact_at_once() -> None:
    person = ResponseConfig.model_validate(
        {"people": [{"id": "a", "name": "A", "contacts": PEOPLE_CONTACTS}]}
    ).people[0]
    assert [(r.methods, r.after) for r in person.rules_for(Priority.P4)] == [(["m", "c"], 0.0)]


PEOPLE_CONTACTS = {
    "m": {"kind": "email", "url": "mailto://x@example.com"},
    "c": {"kind": "phone", "url": "sip:a@pbx.example.com"},
}

SCHEDULE = """\
schedules:
  - id: primary
    layers:
      - participants: [alice]
        start: 2026-01-05T09:00
"""
POLICY = """\
policies:
  - id: main
    tiers:
      - targets: [{schedule: primary}]
"""

MISTAKES = [
    # (file text after PEOPLE, line, message)
    (
        "teams:\n  - id: ops\n    name: Ops\n    members: [alice, bbo]\n",
        11,
        "teams[0].members[1]: unknown person 'bbo'; did you mean 'bob'?",
    ),
    (
        "teams:\n  - id: ops\n    name: Ops\n    schedules: [nope]\n",
        11,
        "teams[0].schedules[0]: unknown schedule 'nope': none are defined yet",
    ),
    (
        SCHEDULE.replace("[alice]", "[alice, zed]"),
        11,
        "schedules[0].layers[0].participants[1]: unknown person 'zed'",
    ),
    (
        SCHEDULE + "    overrides:\n      - {person: eve, start: 2026-01-06, end: 2026-01-07}\n",
        14,
        "schedules[0].overrides[0].person: unknown person 'eve'",
    ),
    (
        POLICY.replace("schedule: primary", "schedule: primry") + SCHEDULE,
        11,
        "policies[0].tiers[0].targets[0].schedule: unknown schedule 'primry'; did you mean",
    ),
    (
        POLICY.replace("schedule: primary", "team: ops"),
        11,
        "policies[0].tiers[0].targets[0].team: unknown team 'ops'",
    ),
    (
        POLICY.replace("schedule: primary", "person: al"),
        11,
        "policies[0].tiers[0].targets[0].person: unknown person 'al'",
    ),
    (
        POLICY.replace("{schedule: primary}", "{schedule: primary, person: alice}") + SCHEDULE,
        11,
        "a target names exactly one of schedule, person or team",
    ),
    (
        POLICY + SCHEDULE + "routing:\n  routes:\n    - match: {team: db}\n      policy: dbs\n",
        20,
        "routing.routes[0].policy: unknown policy 'dbs'",
    ),
    (
        POLICY + SCHEDULE + "routing:\n  default: other\n",
        18,
        "routing.default: unknown policy 'other' (known: main)",
    ),
    (
        POLICY + POLICY.replace("policies:\n", "").replace("main", "second") + SCHEDULE,
        12,
        "name the one for incidents no route matches: routing: {default: main}",
    ),
    (
        POLICY + SCHEDULE + "routing:\n  routes:\n    - match: {host: '~db-('}\n"
        "      policy: main\n",
        19,
        "bad regular expression",
    ),
    (
        "schedules:\n  - id: s\n    layers:\n      - participants: [alice]\n"
        "        start: 2026-01-05T09:00\n  - id: s\n    layers:\n      - participants: [bob]\n"
        "        start: 2026-01-05T09:00\n",
        13,
        "schedule id 's' is already used (line 9); give each schedule its own id",
    ),
    (
        SCHEDULE.replace(
            "        start:", "        length: 12h\n        handoff: '09:00'\n        start:"
        ),
        11,
        "handoff only applies to rotations of whole days",
    ),
    (
        SCHEDULE + "    overrides:\n      - {person: bob, start: 2026-01-07, end: 2026-01-06}\n",
        14,
        "end 2026-01-06T00:00:00 is not after start",
    ),
    (
        SCHEDULE.replace("    layers:", "    timezone: Europe/Berln\n    layers:"),
        10,
        "unknown time zone 'Europe/Berln'",
    ),
    (
        SCHEDULE.replace("start:", "length: fortnightly\n        start:"),
        12,
        "length is daily, weekly or a duration like 12h or 2d, got 'fortnightly'",
    ),
    (
        SCHEDULE.replace("start:", "handoff: '25:00'\n        start:"),
        12,
        'expected a time of day like "09:00" (quoted)',
    ),
    (
        SCHEDULE.replace("id: primary", "id: Night Shift"),
        9,
        "an id is up to 100 letters, digits and . _ - @",
    ),
    (SCHEDULE.replace("2026-01-05T09:00", "next monday"), 12, "valid datetime"),
    (
        "sla:\n  targets:\n    P3: {resolve: 1.5 business days}\n",
        10,
        "business days are whole days",
    ),
    ("sla:\n  targets:\n    P1: {ack: soon}\n", 10, "expected a duration like 15m or 4h"),
    ("sla:\n  warn_at: [0.8, 0.5]\n", 9, "warn_at is increasing fractions"),
    ("sla:\n  calendar: office\n", 9, "sla.calendar: unknown calendar 'office'"),
    (
        "calendars:\n  office:\n    timezone: UTC\n    hours: {mon: '18:00-09:00'}\n",
        11,
        "mon: '18:00-09:00' ends before it starts",
    ),
    (
        "calendars:\n  office:\n    timezone: UTC\n    holidays: [china]\n",
        11,
        "should match pattern",
    ),
    (
        "policies:\n  - id: p\n    tiers:\n      - targets: [{person: alice}]\n"
        "        timout: 5m\n",
        12,
        "unknown key `timout`; did you mean `timeout`?",
    ),
]


def _person_lines(extra: str) -> str:
    return PEOPLE.replace("    name: Bob\n", "    name: Bob\n" + extra)


PERSON_MISTAKES = [
    (
        "    contacts:\n      m: {kind: email, url: x@example.com}\n",
        9,
        "an email contact is an Apprise URL written scheme://",
    ),
    (
        "    contacts:\n      c: {kind: phone, url: '0151 1234'}\n",
        9,
        "a phone contact is a sip: URI like sip:alice@pbx.example.com or an E.164 number",
    ),
    ("    contacts:\n      c: {kind: pager, url: 'x://y'}\n", 9, "'email', 'sms', 'phone'"),
    (
        "    notification_rules:\n      - methods: [pager]\n",
        9,
        "people[1].notification_rules[0].methods[0]: unknown contact of 'bob' 'pager': "
        "none are defined yet",
    ),
    (
        "    notification_rules:\n      - methods: [mail]\n        priorities: [P5]\n",
        10,
        "'P1', 'P2', 'P3' or 'P4'",
    ),
    (
        "    contacts:\n      mail: {kind: email, url: 'mailto://b@example.com'}\n"
        "    notification_rules:\n      - methods: [mail]\n        business_hours_only: true\n",
        12,
        "business_hours_only needs business hours: set `calendar:` on the person",
    ),
    ("    calendar: office\n", 8, "people[1].calendar: unknown calendar 'office'"),
    ("    timezone: Mars/Olympus\n", 8, "unknown time zone 'Mars/Olympus'; use an IANA name"),
    ("    language: fr\n", 8, "'en' or 'zh'"),
    (
        "  - id: alice\n    name: Again\n",
        8,
        "person id 'alice' is already used (line 2); give each person its own id",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [(PEOPLE + t, n, m) for t, n, m in MISTAKES]
    + [(_person_lines(t), n, m) for t, n, m in PERSON_MISTAKES],
    ids=[
        "team-member",
        "team-schedule",
        "participant",
        "override-person",
        "target-schedule",
        "target-team",
        "target-person",
        "target-two-kinds",
        "route-policy",
        "default-policy",
        "no-default",
        "route-regex",
        "duplicate-schedule",
        "handoff-elapsed",
        "override-order",
        "schedule-timezone",
        "length",
        "handoff-time",
        "id-spelling",
        "bad-datetime",
        "business-days",
        "sla-duration",
        "warn-at",
        "sla-calendar",
        "calendar-hours",
        "holiday-country",
        "typo",
        "email-url",
        "phone-number",
        "contact-kind",
        "unknown-contact",
        "priority",
        "business-hours-no-calendar",
        "person-calendar",
        "person-timezone",
        "language",
        "duplicate-person",
    ],
)
def test_mistakes_name_file_line_and_fix(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "response.yaml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as caught:
        load_response(path)
    assert any(
        f"response.yaml:{line}:" in str(e) and message in str(e) for e in caught.value.errors
    ), "\n".join(str(e) for e in caught.value.errors)


def test_errors_never_repeat_a_contact_url(tmp_path: Path) -> None:
    path = tmp_path / "response.yaml"
    path.write_text(PEOPLE.replace("mailto://", "").replace("kind: email", "kind: sms"))
    with pytest.raises(RuleLoadError) as caught:
        load_response(path)
    assert "secret-pw" not in str(caught.value)


def test_an_empty_file_is_an_empty_process(tmp_path: Path) -> None:
    path = tmp_path / "response.yaml"
    path.write_text("# nothing yet\n")
    config = load_response(path)
    assert config.people == [] and config.sla.for_priority(Priority.P1).ack.seconds == 300


def test_a_file_that_is_not_a_mapping_says_what_it_should_be(tmp_path: Path) -> None:
    path = tmp_path / "response.yaml"
    path.write_text("- alice\n")
    with pytest.raises(RuleLoadError, match=r"response.yaml:1: the response file is a mapping"):
        load_response(path)


def test_an_unquoted_handoff_time_still_means_what_it_says(tmp_path: Path) -> None:
    path = tmp_path / "response.yaml"
    path.write_text(PEOPLE + SCHEDULE.replace("start:", "handoff: 9:30\n        start:"))
    assert load_response(path).schedules[0].layers[0].handoff == time(9, 30), "YAML read 570"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for field in model.model_fields.values():
        inner = _nested_model(field.annotation)
        if inner is not None and inner not in seen:
            _models(inner, seen)
    return seen


def _nested_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def test_every_field_is_described_and_every_model_frozen() -> None:
    models = _models(ResponseConfig, set())
    assert len(models) >= 14
    for model in models:
        assert model.model_config.get("frozen") and model.model_config.get("extra") == "forbid"
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_routing_falls_back_to_the_sole_policy_or_to_nothing() -> None:
    tier = {"targets": [{"person": "a"}]}
    one = ResponseConfig.model_validate(
        {"people": [{"id": "a", "name": "A"}], "policies": [{"id": "only", "tiers": [tier]}]}
    )
    found = choose_policy(one.policies, one.routing, {"team": "x"})
    assert found is not None and found.id == "only"
    routed = one.routing.model_copy(
        update={"routes": [Route(match={"service": "!~pay.*"}, policy="only")]}
    )
    assert choose_policy(one.policies, routed, {"service": "web"}) == one.policies[0]
    assert choose_policy([], routed, {"service": "payments"}) is None
