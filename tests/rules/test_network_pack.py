"""The network pack on the network probe's samples: which incidents open, when, what they say."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.probe import ProbeData
from agent.probes.network.checks import CheckResult, failure
from agent.probes.network.probe import add_result_samples
from agent.probes.network.settings import HttpTarget, IcmpTarget, TcpTarget
from agent.report import Sample
from rules.engine import AlertSignal, RuleEngine, SignalKind
from rules.loader import load_rules
from tests.rules.conftest import report

DAY = 86400.0
GATEWAY = IcmpTarget(name="gateway", host="192.0.2.1")
DATABASE = TcpTarget(name="db", host="192.0.2.2", port=5432)
SITE = HttpTarget(name="shop", url="https://shop.example/")
RULES = load_rules()


def samples(target: IcmpTarget | TcpTarget | HttpTarget, result: CheckResult) -> list[Sample]:
    data = ProbeData()
    add_result_samples(data, target, result, threshold=0.2, now=0.0)
    return data.samples


def fires_over(
    batch: list[Sample], seconds: float, step: float = 30.0
) -> dict[str, list[AlertSignal]]:
    """Rule name -> FIRE signals, the same samples reported every `step` seconds for `seconds`."""
    engine = RuleEngine(RULES)
    signals: list[AlertSignal] = []
    now = 0.0
    while now <= seconds:
        signals += engine.evaluate(report("h1", *batch, probe="network"), now)
        signals += engine.tick(now)
        now += step
    fired: dict[str, list[AlertSignal]] = {}
    for signal in signals:
        if signal.kind is SignalKind.FIRE:
            fired.setdefault(signal.rule.name, []).append(signal)
    return fired


def names_and_priorities(fired: dict[str, list[AlertSignal]]) -> set[tuple[str, str]]:
    return {(name, s[0].rule.rule.priority.value) for name, s in fired.items()}


def ping(loss: float, latency: float) -> CheckResult:
    return CheckResult(up=True, outcome="ok", latency_seconds=latency, loss_ratio=loss)


def https(days_left: float) -> CheckResult:
    return CheckResult(True, "ok", "", 0.05, status_code=200, certificate_not_after=days_left * DAY)


SILENT_PING = replace(failure("timeout", "no answer to 5 echo requests"), loss_ratio=1.0)
CASES = [
    ("healthy-ping", samples(GATEWAY, ping(0.0, 0.01)), set()),
    ("lossy-ping", samples(GATEWAY, ping(0.4, 0.01)), {("NetworkPacketLoss", "P3")}),
    ("slow-ping", samples(GATEWAY, ping(0.0, 0.5)), {("NetworkLatencyHigh", "P3")}),
    # Every echo lost: the down incident alone, loss stays under it.
    ("silent-ping", samples(GATEWAY, SILENT_PING), {("NetworkTargetDown", "P2")}),
    ("refused-tcp", samples(DATABASE, failure("refused", "x")), {("NetworkTargetDown", "P2")}),
    ("healthy-https", samples(SITE, https(30)), set()),
    ("cert-10-days", samples(SITE, https(10)), {("TlsCertificateExpiresSoon", "P3")}),
    # Under 3 days the page alone: the 14-day warning stays under it.
    ("cert-2-days", samples(SITE, https(2)), {("TlsCertificateExpiresVerySoon", "P2")}),
    ("cert-expired", samples(SITE, https(-1)), {("TlsCertificateExpiresVerySoon", "P2")}),
]  # fmt: skip


@pytest.mark.parametrize(("batch", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_network_states_open_the_right_incidents(
    batch: list[Sample], expected: set[tuple[str, str]]
) -> None:
    assert names_and_priorities(fires_over(batch, 600)) == expected


@pytest.mark.parametrize(
    ("batch", "rule", "after"),
    [
        (samples(DATABASE, failure("refused", "x")), "NetworkTargetDown", 120),
        (samples(GATEWAY, ping(0.4, 0.01)), "NetworkPacketLoss", 300),
        (samples(GATEWAY, ping(0.0, 0.5)), "NetworkLatencyHigh", 300),
    ],
    ids=["down-2m", "loss-5m", "latency-5m"],
)
def test_network_incidents_wait_for_their_duration(
    batch: list[Sample], rule: str, after: float
) -> None:
    assert rule not in fires_over(batch, after - 30), "a blip must not open an incident"
    assert rule in fires_over(batch, after)


def test_latency_is_judged_against_each_targets_own_threshold() -> None:
    # 150 ms is slow for a target with a 100 ms threshold, fine for one with 200 ms.
    data = ProbeData()
    fast = IcmpTarget(name="lan-switch", host="192.0.2.9")
    add_result_samples(data, fast, ping(0.0, 0.15), threshold=0.1, now=0.0)
    add_result_samples(data, GATEWAY, ping(0.0, 0.15), threshold=0.2, now=0.0)
    (slow,) = fires_over(data.samples, 600)["NetworkLatencyHigh"]
    assert slow.labels["target"] == "lan-switch"


@pytest.mark.parametrize(
    ("batch", "language", "expected"),
    [
        (samples(DATABASE, failure("refused", "x")), "en",
         "tcp target db is not answering from h1"),
        (samples(DATABASE, failure("refused", "x")), "zh", "从 h1 检测 tcp 目标 db 无响应"),
        (samples(GATEWAY, ping(0.4, 0.01)), "en", "gateway loses 40% of pings from h1"),
        (samples(SITE, https(2)), "en", "certificate of shop expires in 2.0 days (seen from h1)"),
        (samples(SITE, https(2)), "zh", "shop 的证书将在 2.0 天后过期（从 h1 检测）"),
        (samples(SITE, https(10)), "en", "certificate of shop expires in 10 days (seen from h1)"),
    ],
    ids=["down-en", "down-zh", "loss-en", "cert-2-en", "cert-2-zh", "cert-10-en"],
)  # fmt: skip
def test_network_summaries_name_the_target_in_both_languages(
    batch: list[Sample], language: str, expected: str
) -> None:
    (signals,) = fires_over(batch, 600).values()
    signal = signals[0]
    context = {"host": signal.host, "labels": dict(signal.labels), "value": signal.value}
    assert signal.rule.summary.render(context, language) == expected


def test_every_network_rule_says_what_to_do() -> None:
    rules = [c.rule for c in RULES.rules if c.group == "network"]
    assert len(rules) == 5
    for rule in rules:
        assert isinstance(rule.summary, dict) and {"en", "zh"} <= set(rule.summary)
        assert len(rule.description) > 80, rule.name
