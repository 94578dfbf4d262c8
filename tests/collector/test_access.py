"""Access control over real HTTP: every route without credentials, with a wrong token and with
each role; API tokens, users, browser sessions with CSRF, the sign-in throttle, the audit log,
and the `users`/`tokens` CLI on the same database."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.access_cli import first_admin, open_access, tokens_command, users_command
from collector.api.access import CUSTOMER_RULES, ROUTE_RULES, Gate, Scoped, route_methods
from collector.auth.roles import Role
from collector.config import AccessConfig, ApiToken
from tests.collector.harness import ADMIN_HEADERS, TOKEN, FakeClock, RunningCollector

ROLE_TOKENS = {
    Role.VIEWER: "viewer-token-71a0",
    Role.RESPONDER: "responder-token-2b9c",
    Role.ADMIN: "admin-token-c3d4",
    Role.CUSTOMER: "customer-token-e5f6",
}
PASSWORD = "correct horse battery"


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningCollector]:
    tokens = [
        ApiToken(  # type: ignore[arg-type]
            name=f"{role.value}-bot",
            token=secret,
            role=role.value,
            customer="acme" if role is Role.CUSTOMER else None,
        )
        for role, secret in ROLE_TOKENS.items()
    ]
    collector = RunningCollector(tmp_path, clock, api_tokens=tokens)
    yield collector
    collector.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(running: RunningCollector, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("allow_redirects", False)
    return requests.request(method, f"{running.url}{path}", **kwargs)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "1" if ":int" in m.group() else "x", path)


def test_every_route_has_an_access_rule_and_enforces_it(running: RunningCollector) -> None:
    """Every role on every route; role customer's confinement: test_access_customers.py."""
    endpoints = route_methods(running.collector.asgi.routes)
    assert set(endpoints) == set(ROUTE_RULES), "ROUTE_RULES lists exactly the app's endpoints"
    for method, template in endpoints:
        path, need = concrete(template), ROUTE_RULES[(method, template)]
        where = f"{method} {path}"
        anonymous = call(running, method, path)
        wrong = call(running, method, path, headers=bearer("wrong-token"))
        if need is Gate.PUBLIC:
            # /verify/x: a token that is no signed link is refused (403), as it should be
            assert anonymous.status_code < 400 or template in ("/login", "/verify/{token}"), where
            continue
        assert wrong.status_code == 401, where
        assert wrong.json()["error"]["code"] == "unauthorized", where
        if method == "GET" and not path.startswith(("/api/", "/metrics")):
            assert anonymous.status_code == 303, where
            assert anonymous.headers["location"].startswith("/login?next="), where
        else:
            assert anonymous.status_code == 401, where
            assert "error" in anonymous.json(), where
        for role, token in ROLE_TOKENS.items():
            answer = call(running, method, path, headers=bearer(token))
            if need in (Gate.AGENT, Gate.INTEGRATION):
                assert answer.status_code == 401, f"{where}: API tokens are not {need.value} tokens"
            elif role is Role.CUSTOMER and (method, template) in CUSTOMER_RULES:
                # Confined to its own customer (this one owns nothing): a list or a 404; the
                # action verb "x" is not one of its verbs.
                refused_verb = answer.status_code == 403 and "{action}" in template
                # Preferences are a user's: a token's PATCH /api/v1/whoami or POST /me is a 400.
                no_user = template in ("/api/v1/whoami", "/me") and "API token" in answer.text
                # Opening a ticket with no body: a 400 naming the missing title.
                empty = CUSTOMER_RULES[(method, template)] is Scoped.OPENING
                allowed = answer.status_code in (200, 303, 404) or refused_verb or no_user
                assert allowed or (empty and answer.status_code == 400), where
            elif _allowed(role, need):
                assert answer.status_code not in (401, 403), f"{where} as {role}: {answer.text}"
            else:
                assert answer.status_code == 403, f"{where} as {role}"
                assert f"role {role.value}" in answer.json()["error"]["message"], where


def _allowed(role: Role, need: Role | Gate) -> bool:
    if need is Gate.SIGNED_IN:
        return True
    if need is Gate.METRICS:
        need = Role.VIEWER
    assert isinstance(need, Role)
    from collector.auth.roles import grants

    return grants(role, need)


def test_unknown_paths_and_methods_are_401_before_404_or_405(running: RunningCollector) -> None:
    assert call(running, "GET", "/api/v1/nothing-here").status_code == 401
    assert call(running, "DELETE", "/api/v1/hosts").status_code == 401
    assert call(running, "GET", "/api/v1/nothing-here", headers=ADMIN_HEADERS).status_code == 404
    assert call(running, "DELETE", "/api/v1/hosts", headers=ADMIN_HEADERS).status_code == 405


def test_metrics_take_basic_auth_or_are_public_only_by_setting(
    tmp_path: Path, clock: FakeClock, running: RunningCollector
) -> None:
    running.collector.access.add_user("prom", PASSWORD, Role.VIEWER)
    assert call(running, "GET", "/metrics", auth=("prom", PASSWORD)).status_code == 200
    assert call(running, "GET", "/metrics", auth=("prom", "wrong password!")).status_code == 401
    assert call(running, "GET", "/metrics", headers=bearer(TOKEN)).status_code == 401
    public = RunningCollector(tmp_path / "public", clock, access=AccessConfig(metrics_public=True))
    try:
        assert call(public, "GET", "/metrics").status_code == 200
        assert call(public, "GET", "/api/v1/hosts").status_code == 401
    finally:
        public.stop()


def test_api_tokens_are_shown_once_expire_and_are_revoked_at_once(
    running: RunningCollector, clock: FakeClock
) -> None:
    issued = call(
        running,
        "POST",
        "/api/v1/tokens",
        json={"name": "grafana", "role": "viewer", "expires_in": "1d"},
        headers=ADMIN_HEADERS,
    )
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert token.startswith("wk_") and issued.json()["prefix"] == token[:10]
    listed = call(running, "GET", "/api/v1/tokens", headers=ADMIN_HEADERS).json()
    assert token not in str(listed) and listed[0]["last_used_at"] is None
    assert call(running, "GET", "/api/v1/hosts", headers=bearer(token)).status_code == 200
    refused = call(running, "POST", "/api/v1/incidents", json={"title": "x"}, headers=bearer(token))
    assert refused.status_code == 403
    assert "needs role responder; 'grafana' has role viewer" in refused.json()["error"]["message"]
    [used] = call(running, "GET", "/api/v1/tokens", headers=ADMIN_HEADERS).json()
    assert used["last_used_at"] is not None and used["state"] == "active"

    clock.advance(86400 + 1)
    assert call(running, "GET", "/api/v1/hosts", headers=bearer(token)).status_code == 401
    second = call(
        running,
        "POST",
        "/api/v1/tokens",
        json={"name": "bot", "role": "responder"},
        headers=ADMIN_HEADERS,
    ).json()
    assert call(running, "GET", "/api/v1/hosts", headers=bearer(second["token"])).ok
    revoked = call(running, "DELETE", f"/api/v1/tokens/{second['id']}", headers=ADMIN_HEADERS)
    assert revoked.status_code == 200
    assert call(running, "GET", "/api/v1/hosts", headers=bearer(second["token"])).status_code == 401
    again = call(running, "DELETE", f"/api/v1/tokens/{second['id']}", headers=ADMIN_HEADERS)
    assert again.status_code == 409


def test_customer_needs_its_customer_and_weak_passwords_are_refused(
    running: RunningCollector,
) -> None:
    no_customer = call(
        running,
        "POST",
        "/api/v1/tokens",
        json={"name": "c", "role": "customer"},
        headers=ADMIN_HEADERS,
    )
    assert no_customer.status_code == 400 and "customer" in no_customer.json()["error"]["message"]
    weak = call(
        running,
        "POST",
        "/api/v1/users",
        json={"name": "bob", "password": "short", "role": "viewer"},
        headers=ADMIN_HEADERS,
    )
    assert weak.status_code == 400 and "at least 12 characters" in weak.text


class Browser:
    """A requests session that signs in through the login form like a browser."""

    def __init__(self, running: RunningCollector) -> None:
        self.url = running.url
        self.session = requests.Session()

    def sign_in(self, user: str, password: str, next_: str = "/") -> requests.Response:
        form = self.session.get(f"{self.url}/login?next={next_}", timeout=5)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        return self.session.post(
            f"{self.url}/login",
            data={"user": user, "password": password, "csrf": csrf.group(1), "next": next_},
            allow_redirects=False,
            timeout=5,
        )


def test_a_person_signs_in_acts_with_csrf_and_signs_out(running: RunningCollector) -> None:
    running.collector.access.add_user("carol", PASSWORD, Role.RESPONDER)
    browser = Browser(running)
    wrong = browser.sign_in("carol", "not her password")
    assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
    signed = browser.sign_in("carol", PASSWORD, "/incidents/x")
    assert signed.status_code == 303 and signed.headers["location"] == "/incidents/x"
    cookie = signed.headers["set-cookie"]
    assert "wk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie, "plain HTTP on loopback: no Secure flag"
    page = browser.session.get(f"{running.url}/", timeout=5)
    assert page.status_code == 200 and "carol (responder)" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    url = f"{running.url}/api/v1/incidents"
    forged = browser.session.post(url, json={"title": "forged"}, timeout=5)
    assert forged.status_code == 403 and "x-csrf-token" in forged.json()["error"]["message"]
    opened = browser.session.post(
        url, json={"title": "by hand"}, headers={"X-CSRF-Token": csrf.group(1)}, timeout=5
    )
    assert opened.status_code == 201 and opened.json()["reporter"] in (None, "carol")
    bad_logout = browser.session.post(
        f"{running.url}/logout", data={"csrf": "nope"}, allow_redirects=False, timeout=5
    )
    assert bad_logout.status_code == 403
    out = browser.session.post(
        f"{running.url}/logout", data={"csrf": csrf.group(1)}, allow_redirects=False, timeout=5
    )
    assert out.status_code == 303
    after = browser.session.get(f"{running.url}/", allow_redirects=False, timeout=5)
    assert after.status_code == 303, "signed out"


def test_sign_in_without_the_form_token_is_refused(running: RunningCollector) -> None:
    running.collector.access.add_user("dave", PASSWORD, Role.VIEWER)
    answer = requests.post(
        f"{running.url}/login",
        data={"user": "dave", "password": PASSWORD, "csrf": "guessed"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 403 and "wk_session" not in answer.headers.get("set-cookie", "")


def test_failed_sign_ins_are_throttled_per_user_then_clear(
    running: RunningCollector, clock: FakeClock
) -> None:
    running.collector.access.add_user("erin", PASSWORD, Role.VIEWER)
    browser = Browser(running)
    for _ in range(5):
        assert browser.sign_in("erin", "guess guess guess").status_code == 401
    throttled = browser.sign_in("erin", PASSWORD)
    assert throttled.status_code == 429
    assert "too many failed sign-ins for user &#39;erin&#39;" in throttled.text
    assert 0 < int(throttled.headers["retry-after"]) <= 900
    clock.advance(901)
    assert browser.sign_in("erin", PASSWORD).status_code == 303


def test_disabled_users_and_changed_passwords_end_sessions(running: RunningCollector) -> None:
    running.collector.access.add_user("fred", PASSWORD, Role.VIEWER)
    browser = Browser(running)
    assert browser.sign_in("fred", PASSWORD).status_code == 303
    assert browser.session.get(f"{running.url}/api/v1/hosts", timeout=5).status_code == 200
    patched = call(
        running, "PATCH", "/api/v1/users/fred", json={"disabled": True}, headers=ADMIN_HEADERS
    )
    assert patched.status_code == 200 and patched.json()["disabled"] is True
    assert browser.session.get(f"{running.url}/api/v1/hosts", timeout=5).status_code == 401
    assert "disabled" in browser.sign_in("fred", PASSWORD).text


def test_every_write_is_audited_and_only_admins_read_it(running: RunningCollector) -> None:
    call(
        running,
        "POST",
        "/api/v1/incidents",
        json={"title": "audited"},
        headers=bearer(ROLE_TOKENS[Role.RESPONDER]),
    )
    call(running, "POST", "/api/v1/incidents", json={"title": "no"}, headers=bearer("wrong"))
    Browser(running).sign_in("nobody", "whatever password")
    entries = call(running, "GET", "/api/v1/audit", headers=ADMIN_HEADERS).json()
    actions = [(e["actor"], e["action"], e["status"]) for e in entries]
    assert ("responder-bot", "POST /api/v1/incidents", 201) in actions
    assert ("nobody", "LOGIN", 401) in actions
    assert all(e["address"] == "127.0.0.1" for e in entries)
    viewer = call(running, "GET", "/api/v1/audit", headers=bearer(ROLE_TOKENS[Role.VIEWER]))
    assert viewer.status_code == 403


def test_users_and_tokens_cli_share_the_database_with_the_api(
    running: RunningCollector, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    database = ["--database", running.config.database]
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert (
        users_command(["add", "gina", "--role", "admin", "--password-file", str(secret), *database])
        == 0
    )
    assert (
        users_command(["add", "gina", "--role", "admin", "--password-file", str(secret), *database])
        == 1
    )
    assert "already exists" in capsys.readouterr().err
    assert users_command(["list", *database]) == 0
    assert re.search(r"gina\s+admin\s+-\s+active", capsys.readouterr().out)
    assert tokens_command(["add", "ci", "--role", "viewer", *database]) == 0
    token = capsys.readouterr().out.strip()
    assert call(running, "GET", "/api/v1/hosts", headers=bearer(token)).status_code == 200
    assert tokens_command(["list", *database]) == 0
    listing = capsys.readouterr().out
    assert "ci" in listing and token not in listing and token[:10] in listing
    assert tokens_command(["revoke", "ci", *database]) == 0
    assert call(running, "GET", "/api/v1/hosts", headers=bearer(token)).status_code == 401
    assert users_command(["disable", "gina", *database]) == 0
    assert users_command(["passwd", "nobody", "--password-file", str(secret), *database]) == 1
    audit = call(running, "GET", "/api/v1/audit", headers=ADMIN_HEADERS).json()
    assert {"users add gina --role admin", "users disable gina"} <= {e["action"] for e in audit}


def test_first_admin_is_created_once_never_with_a_default(tmp_path: Path) -> None:
    from collector.config import CollectorConfig

    config = CollectorConfig(database=f"sqlite:///{tmp_path / 'wk.db'}")
    access = open_access(None, config.database)
    shown = io.StringIO()
    first_admin(access, config, {}, shown)
    password = re.search(r"password: (\S+)", shown.getvalue())
    assert password and len(password.group(1)) >= 24
    assert access.from_basic("admin", password.group(1)) is not None
    again = io.StringIO()
    first_admin(access, config, {}, again)
    assert again.getvalue() == "", "printed once, on the first start only"

    other = CollectorConfig(database=f"sqlite:///{tmp_path / 'other.db'}")
    chosen = open_access(None, other.database)
    quiet = io.StringIO()
    first_admin(chosen, other, {"WATCHKEEPER_ADMIN_PASSWORD": PASSWORD}, quiet)
    assert quiet.getvalue() == "" and chosen.from_basic("admin", PASSWORD) is not None
