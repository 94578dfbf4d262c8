"""The incident page's and the silences page's forms, posted like a browser without
JavaScript: CSRF checked, the signed-in person as actor, POST-redirect-GET, refusals shown on
the page, and viewers shown no forms and refused."""

from __future__ import annotations

import html
import re

import requests

from tests.collector.harness import ADMIN_HEADERS, RunningCollector
from tests.collector.web.conftest import Browser, csrf_of, open_incident


def timeline(page: str) -> list[tuple[str, str, str]]:
    table = re.search(r'<table class="list" id="timeline">.*?</table>', page, re.S)
    assert table
    cells = re.findall(
        r"<tr><td[^>]*><time[^>]*>[^<]*</time></td><td[^>]*>([^<]*)</td>"
        r"<td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>",
        table.group(),
    )
    return [(name, actor, detail) for name, actor, detail in cells]


def test_a_responder_works_an_incident_through_its_forms(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "queue backlog", priority="P3")["number"]
    page = carol.get(f"/incidents/{number}").text
    assert {"form-ack", "form-note", "form-assign", "form-regrade", "form-resolve"} <= set(
        re.findall(r'id="(form-\w+)"', page)
    )
    assert csrf_of(page) == carol.csrf
    steps = [
        ("ack", {"note": "looking"}),
        ("note", {"text": "consumer restarted"}),
        ("assign", {"assignee": "dave"}),
        ("regrade", {"priority": "P4", "reason": "one internal user"}),
        ("resolve", {"note": "backlog drained"}),
        ("reopen", {"reason": "backlog again"}),
        ("resolve", {"note": "fixed for real"}),
        ("close", {"note": "done"}),
    ]
    for verb, fields in steps:
        answer = carol.submit(f"/incidents/{number}/{verb}", **fields)
        assert answer.status_code == 303, f"{verb}: {answer.text[:300]}"
        assert answer.headers["location"] == f"/incidents/{number}#timeline"
    final = carol.get(f"/incidents/{number}")
    names = [(n, a) for n, a, _d in timeline(final.text)]
    assert names[1:] == [
        ("ACK", "carol"),
        ("NOTE", "carol"),
        ("ASSIGN", "carol"),
        ("REGRADE", "carol"),
        ("RESOLVE", "carol"),
        ("REOPEN", "carol"),
        ("RESOLVE", "carol"),
        ("CLOSE", "carol"),
    ]
    assert any("consumer restarted" in d for _n, _a, d in timeline(final.text))
    assert 'data-state="closed"' in final.text and 'id="form-ack"' not in final.text
    api = requests.get(f"{running.url}/api/v1/incidents/{number}", headers=ADMIN_HEADERS)
    assert api.json()["assignee"] == "dave" and api.json()["priority"] == "P4"


def test_forms_without_the_session_token_or_with_bad_fields_change_nothing(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "cert expiring")["number"]
    for csrf in ("", "forged-token"):
        forged = carol.submit(f"/incidents/{number}/ack", csrf=csrf)
        assert forged.status_code == 403 and "The form expired" in forged.text
    no_reason = carol.submit(f"/incidents/{number}/regrade", priority="P1", reason=" ")
    assert no_reason.status_code == 409 and "reason is required" in no_reason.text
    carol.submit(f"/incidents/{number}/ack")
    twice = carol.submit(f"/incidents/{number}/ack")
    assert twice.status_code == 409 and 'id="refused"' in twice.text
    assert "cannot ack" in twice.text, "the page says why"
    assert carol.submit(f"/incidents/{number}/explode").status_code == 404
    assert carol.submit("/incidents/INC-1999-000001/ack").status_code == 404
    events = requests.get(f"{running.url}/api/v1/incidents/{number}", headers=ADMIN_HEADERS)
    assert [e["name"] for e in events.json()["timeline"]] == ["OPEN", "ACK"]


def test_a_viewer_sees_no_forms_and_cannot_post_them(
    running: RunningCollector, vera: Browser
) -> None:
    number = open_incident(running, "fan failing")["number"]
    page = vera.get(f"/incidents/{number}").text
    assert "vera (viewer)" in page and 'id="actions"' not in page
    refused = vera.submit(f"/incidents/{number}/ack")
    assert refused.status_code == 403 and "role responder" in refused.text
    assert 'id="form-silence"' not in vera.get("/silences").text
    assert vera.submit("/silences", matchers="host=a", duration="1h", reason="x").status_code == 403


def test_silences_are_added_checked_and_expired_through_the_form(
    running: RunningCollector, carol: Browser
) -> None:
    added = carol.submit(
        "/silences", matchers="host=web1\nrule=~Disk.*", duration="2h", reason="disk swap"
    )
    assert added.status_code == 303 and added.headers["location"] == "/silences"
    [silence] = requests.get(f"{running.url}/api/v1/silences", headers=ADMIN_HEADERS).json()
    assert silence["matchers"] == {"host": "web1", "rule": "~Disk.*"}
    assert silence["author"] == "carol" and silence["active"]
    page = carol.get("/silences").text
    assert "disk swap" in page and "2 h left" in page
    bad = carol.submit("/silences", matchers="just words", duration="2h", reason="x")
    assert bad.status_code == 400 and "matchers line 1" in bad.text
    assert 'value="x"' in bad.text, "what was typed is kept"
    regex = carol.submit("/silences", matchers="host=~[", duration="2h", reason="x")
    assert regex.status_code == 400 and "bad regular expression" in regex.text
    forged = carol.submit(f"/silences/{silence['id']}/expire", csrf="nope")
    assert forged.status_code == 403
    expired = carol.submit(f"/silences/{silence['id']}/expire")
    assert expired.status_code == 303
    assert requests.get(f"{running.url}/api/v1/silences", headers=ADMIN_HEADERS).json() == []
    assert "disk swap" in carol.get("/silences?ended=1").text
    assert carol.submit("/silences/999/expire").status_code == 404


def test_silence_similar_prefills_the_form_from_the_incident(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "fan failing", hosts=["web7"])["number"]
    link = re.search(r'href="([^"]+)" id="silence-similar"', carol.get(f"/incidents/{number}").text)
    assert link, "responders get a link to silence incidents like this one"
    form = carol.get(html.unescape(link.group(1))).text
    assert ">host=web7</textarea>" in form
