"""The collector config: the annotated example stays valid; mistakes name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import load_config
from rules.loader import RuleLoadError
from rules.priority import Priority

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "collector.example.yaml"


def test_annotated_example_loads_through_the_model() -> None:
    config = load_config(EXAMPLE)
    assert config.listen_host_port == ("127.0.0.1", 9810)
    assert config.rules == [EXAMPLE.parent / "rules.d"], "relative to the file"
    assert [c.min_priority for c in config.notify] == [None, Priority.P3, Priority.P2, Priority.P1]
    assert config.notify[3].url_file == EXAMPLE.parent / "secrets" / "pager-webhook.url"
    assert config.api_tokens[1].role == "viewer" and config.access.metrics_public is False
    assert config.agents[0].token_file == EXAMPLE.parent / "secrets" / "web-fleet.token"
    assert config.limits.stale_after == 30.0
    assert config.api_tokens[0].token_file == EXAMPLE.parent / "secrets" / "alice.token"
    assert config.incidents.renotify_after == {Priority.P1: 900.0, Priority.P2: 1800.0}
    assert (config.incidents.reopen_window, config.delivery.max_retry) == (3600.0, 300.0)


def test_notification_passwords_are_not_in_the_repr() -> None:
    config = load_config(EXAMPLE)
    assert "app-password" not in repr(config) and "app-password" not in str(config.notify)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("listen: localhost\n", 1, "listen must be HOST:PORT"),
        ("listn: 127.0.0.1:1\n", 1, "unknown key `listn`; did you mean `listen`?"),
        ("agents:\n  - name: a\n    hosts: '*'\n", 2, "exactly one of token, token_file"),
        ("limits:\n  stale_after: soon\n", 2, "expected a duration"),
        ("notify:\n  - url: x\n    min_priority: P7\n", 3, "'P1', 'P2', 'P3' or 'P4'"),
        ("incidents:\n  number_prefix: inc-\n", 2, "should match pattern"),
        ("incidents:\n  renotify_after:\n    P1: later\n", 3, "expected a duration"),
    ],
    ids=["listen", "typo", "token", "duration", "priority", "prefix", "renotify"],
)
def test_bad_config_names_file_line_and_problem(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "collector.yaml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as caught:
        load_config(path)
    assert any(
        f"collector.yaml:{line}:" in str(e) and message in str(e) for e in caught.value.errors
    ), caught.value.errors
