"""The console's languages: the catalogue covers every message, the language is chosen per
request (?lang=, the user's stored choice, cookie, Accept-Language), durations read naturally
in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from collector.web.i18n import LOCALE_DIR, Durations, from_accept_language, load_translations
from tests.collector.harness import RunningCollector
from tests.collector.web.conftest import Browser, open_incident

WEB = Path(__file__).resolve().parents[3] / "collector" / "web"


def source_messages() -> set[str]:
    methods = [("**.py", "python"), ("templates/**.html", "jinja2")]
    return {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(WEB, methods)
    }


def test_every_message_has_a_chinese_translation() -> None:
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / "console.po").open("rb") as source:
        catalog = read_po(source)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = source_messages() - translated
    assert not missing, f"add to console.po (see README, Console): {sorted(missing)}"
    assert len(translated) > 80


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-Hans", "zh"),
        ("en-US,en;q=0.9,zh;q=0.8", "en"),
        ("fr-FR,zh;q=0.5", "zh"),
        ("de, fr;q=0.7", "en"),
        ("zh;q=bogus, en", "en"),
    ],
    ids=["none", "zh-CN", "zh-Hans", "en-first", "zh-only-supported", "unsupported", "bad-q"],
)
def test_accept_language_picks_the_best_supported(header: str, expected: str) -> None:
    assert from_accept_language(header) == expected


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (0, "0 s", "0 秒"),
        (45, "45 s", "45 秒"),
        (720, "12 min", "12 分钟"),
        (7500, "2 h 5 min", "2 小时 5 分钟"),
        (7200, "2 h", "2 小时"),
        (3 * 86400 + 4 * 3600 + 59, "3 d 4 h", "3 天 4 小时"),
    ],
    ids=["zero", "seconds", "minutes", "hours-minutes", "whole-hours", "days"],
)
def test_durations_read_naturally(seconds: int, en: str, zh: str) -> None:
    languages = load_translations()
    assert Durations(languages["en"]).span(seconds) == en
    assert Durations(languages["zh"]).span(seconds) == zh


def test_ago_left_and_overdue() -> None:
    english, chinese = (Durations(t) for t in load_translations().values())
    assert (
        english.ago(1000.0, 1720.0) == "12 min ago" and chinese.ago(1000.0, 1720.0) == "12 分钟前"
    )
    assert english.left(7500) == "2 h 5 min left" and chinese.left(7500) == "剩余 2 小时 5 分钟"
    assert english.left(-90) == "1 min overdue" and chinese.left(-90) == "已超时 1 分钟"
    assert english.ago(None, 1.0) == "" and english.left(None) == ""


def test_language_follows_the_switch_the_users_choice_the_cookie_then_the_browser(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "disk full")["number"]
    assert (
        '<html lang="en">' in carol.get("/").text and "Active incidents (1)" in carol.get("/").text
    )
    switched = carol.get("/incidents?state=all&lang=zh")
    assert '<html lang="zh-Hans">' in switched.text and "事件" in switched.text
    assert "lang=zh" in switched.headers["set-cookie"]
    assert 'href="/incidents?state=all&amp;lang=en"' in switched.text, "the switch keeps the query"
    page = carol.get(f"/incidents/{number}").text
    assert "时间线" in page and "确认" in page and "UTC" in page, "remembered by the cookie"
    carol.get("/?lang=en")
    assert "Timeline" in carol.get(f"/incidents/{number}").text
    sign_in = requests.get(f"{running.url}/login", headers={"Accept-Language": "zh"}, timeout=5)
    assert "登录" in sign_in.text and 'name="csrf"' in sign_in.text
    for cookie in [c for c in carol.session.cookies if c.name == "lang"]:
        carol.session.cookies.clear(cookie.domain, cookie.path, cookie.name)
    chinese = carol.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="en">' in chinese, "carol chose English with the switch: stored with her"
    vera = Browser(running, "vera")  # has chosen nothing: her browser's language
    chinese = vera.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "活动事件（1）" in chinese and "秒前" in chinese
