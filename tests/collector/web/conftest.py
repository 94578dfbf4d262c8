"""Console fixtures: a running collector with a responder and a viewer, and a browser-like
requests session that signs in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.auth.roles import Role
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector

PASSWORD = "correct horse battery"


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, clock)
    collector.collector.access.add_user("carol", PASSWORD, Role.RESPONDER)
    collector.collector.access.add_user("vera", PASSWORD, Role.VIEWER)
    yield collector
    collector.stop()


class Browser:
    """A requests session that signs in through the login form and posts the console's forms
    with the CSRF token found on the page, like a browser without JavaScript."""

    def __init__(self, running: RunningCollector, user: str) -> None:
        self.url = running.url
        self.session = requests.Session()
        form = self.session.get(f"{self.url}/login", timeout=5)
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        signed = self.session.post(
            f"{self.url}/login",
            data={"user": user, "password": PASSWORD, "csrf": token.group(1), "next": "/"},
            allow_redirects=False,
            timeout=5,
        )
        assert signed.status_code == 303, signed.text
        self.csrf = csrf_of(self.get("/").text)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return self.session.get(f"{self.url}{path}", **kwargs)

    def submit(self, path: str, csrf: str | None = None, **fields: str) -> requests.Response:
        """POST a form as the page would, without following the redirect."""
        data = {"csrf": self.csrf if csrf is None else csrf, **fields}
        return self.session.post(f"{self.url}{path}", data=data, allow_redirects=False, timeout=5)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has a form with the session's CSRF token"
    return found.group(1)


@pytest.fixture
def carol(running: RunningCollector) -> Browser:
    return Browser(running, "carol")


@pytest.fixture
def vera(running: RunningCollector) -> Browser:
    return Browser(running, "vera")


def open_incident(running: RunningCollector, title: str, **fields: Any) -> dict[str, Any]:
    """An incident opened through the API as the harness's admin."""
    answer = requests.post(
        f"{running.url}/api/v1/incidents",
        json={"title": title, **fields},
        headers=ADMIN_HEADERS,
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    opened: dict[str, Any] = answer.json()
    return opened
