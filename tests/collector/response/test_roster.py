"""The roster on both databases: API people and teams stored over response.yaml, seen by a
second collector after its refresh time, checked against the file's references, and the
listeners told which people changed (they get delivery channels)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from agent.configfile import parse_yaml
from collector.response.model import response_from_document
from collector.response.people import ContactMethod, Person, Team
from collector.response.roster import Roster, RosterError
from collector.store.people import PeopleStore
from tests.collector.harness import FakeClock

SEED = """\
people:
  - {id: alice, name: Alice}
teams:
  - {id: dba, name: DBA, members: [alice]}
"""


def roster(engine: sa.Engine, clock: FakeClock) -> Roster:
    seed = response_from_document(parse_yaml(SEED, "response.yaml"))
    made = Roster(seed, PeopleStore(engine), clock, refresh_after=30.0)
    made.load()
    return made


def test_a_change_on_one_collector_reaches_another_after_its_refresh_time(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(1_800_000_000.0)
    here, there = roster(engine, clock), roster(engine, clock)
    heard: list[list[str]] = []
    there.listeners.append(lambda people: heard.append([p.id for p in people]))
    here.create(Person(id="carol", name="Carol"), "admin")
    assert here.config().person("carol") is not None
    assert there.config().person("carol") is None, "cached until the refresh time"
    there.refresh()
    assert there.config().person("carol") is None, "cached until the refresh time"
    clock.advance(30)
    there.refresh()
    assert there.config().person("carol") is not None
    assert heard == [["carol"]] and there.source("person", "carol") == "api"


def test_changes_are_checked_against_the_files_references(engine: sa.Engine) -> None:
    book = roster(engine, FakeClock(1_800_000_000.0))
    with pytest.raises(RosterError, match="unknown person 'bob'") as refused:
        book.replace(Team(id="dba", name="DBA", members=["alice", "bob"]), "admin")
    assert refused.value.status == "invalid"
    with pytest.raises(RosterError) as taken:
        book.create(Person(id="alice", name="Alice again"), "admin")
    assert taken.value.status == "exists"
    with pytest.raises(RosterError) as missing:
        book.set_disabled("team", "web", True, "admin")
    assert missing.value.status == "missing"
    book.set_disabled("person", "alice", True, "admin")
    alice = book.config().person("alice")
    assert alice is not None and alice.disabled and book.source("person", "alice") == "file+api"


def test_contact_addresses_are_stored_whole_for_people_and_team_channels(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(1_800_000_000.0)
    url = "mailto://bot:s3cret@mail.example?to=dba@example.com"
    channel = ContactMethod(kind="email", url=url)  # type: ignore[arg-type]
    roster(engine, clock).replace(Team(id="dba", name="DBA", channel=channel), "admin")
    carol = Person(id="carol", name="Carol", contacts={"mail": channel})
    roster(engine, clock).create(carol, "admin")
    fresh = roster(engine, clock).config()
    team, person = fresh.team("dba"), fresh.person("carol")
    assert team is not None and team.channel is not None
    assert team.channel.url.get_secret_value() == url
    assert person is not None and person.contacts["mail"].url.get_secret_value() == url
