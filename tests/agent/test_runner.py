"""ProbeRunner: error capture, partial results, result reuse, and the report it builds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from importlib.metadata import version

import pytest

from agent.probe import ProbeData, ProbeError
from agent.report import SCHEMA_V1, decode_report, encode_report
from agent.runner import ProbeRunner
from agent.version import AGENT_VERSION
from tests.peers import wait_until


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedProbe:
    """A probe whose collect() is a function the test supplies; counts its calls."""

    def __init__(
        self,
        name: str,
        collect: Callable[[], ProbeData],
        min_interval_seconds: float = 0.0,
        target: str | None = None,
    ) -> None:
        self.name = name
        self.target = target
        self.min_interval_seconds = min_interval_seconds
        self.runs_inline = False
        self.deadline_seconds: float | None = None
        self._collect = collect
        self.calls = 0

    def collect(self) -> ProbeData:
        self.calls += 1
        return self._collect()


def healthy() -> ProbeData:
    data = ProbeData()
    data.add("load1", 0.5)
    return data


def crash() -> ProbeData:
    raise KeyError("temp1_input")


def refuse() -> ProbeData:
    raise ProbeError("smartctl: permission denied (run the agent as root or add CAP_SYS_RAWIO)")


def half() -> ProbeData:
    data = ProbeData()
    data.add("raid_array_degraded", 0.0, array="md0")
    data.source_errors["md1"] = "cannot parse"
    return data


def test_a_crashing_probe_is_an_error_result_and_the_others_still_report() -> None:
    runner = ProbeRunner(
        [ScriptedProbe("bug", crash), ScriptedProbe("host", healthy)], "web-01", 10.0
    )
    bug, host = runner.run_cycle().probes
    assert (bug.status, bug.error, bug.samples) == ("error", "KeyError: 'temp1_input'", [])
    assert host.status == "ok" and host.samples[0].metric == "load1"


def test_a_probe_error_message_is_shown_as_is() -> None:
    (result,) = ProbeRunner([ScriptedProbe("smart", refuse)], "h", 10.0).run_cycle().probes
    assert result.status == "error"
    assert (
        result.error == "smartctl: permission denied (run the agent as root or add CAP_SYS_RAWIO)"
    )


def test_source_errors_make_a_partial_result() -> None:
    (result,) = ProbeRunner([ScriptedProbe("mdraid", half)], "h", 10.0).run_cycle().probes
    assert result.status == "partial"
    assert result.source_errors == {"md1": "cannot parse"}
    assert result.samples[0].labels == {"array": "md0"}


def test_min_interval_reuses_the_cached_result_until_due() -> None:
    timer = FakeClock()
    slow = ScriptedProbe("smart", healthy, min_interval_seconds=300, target="bmc-01")
    fast = ScriptedProbe("host", healthy)
    runner = ProbeRunner([slow, fast], "h", 10.0, timer=timer)
    first = runner.run_cycle().probes[0]
    timer.now += 299
    second = runner.run_cycle().probes[0]
    timer.now += 2
    runner.run_cycle()
    assert (slow.calls, fast.calls) == (2, 3)
    assert second is first and second.target == "bmc-01"


def test_durations_come_from_the_injected_timer() -> None:
    timer = FakeClock()

    def takes_two_seconds() -> ProbeData:
        timer.now += 2.0
        return healthy()

    runner = ProbeRunner([ScriptedProbe("host", takes_two_seconds)], "h", 10.0, timer=timer)
    assert runner.run_cycle().probes[0].duration_seconds == 2.0


def test_report_is_stamped_and_numbered_and_round_trips() -> None:
    clock = FakeClock(1_700_000_000.5)
    runner = ProbeRunner([ScriptedProbe("host", healthy)], "web-01", 15.0, clock=clock)
    first = runner.run_cycle()
    clock.now += 15
    second = runner.run_cycle()
    assert (first.schema, first.host, first.interval_seconds) == (SCHEMA_V1, "web-01", 15.0)
    assert (first.sequence, second.sequence) == (1, 2)
    assert (first.time, second.time) == (1_700_000_000.5, 1_700_000_015.5)
    assert first.agent_version == AGENT_VERSION
    assert decode_report(encode_report(second)) == second


def test_agent_version_matches_the_package() -> None:
    assert version("watchkeeper") == AGENT_VERSION


@pytest.mark.parametrize("collect", [healthy, crash], ids=["healthy", "crashing"])
def test_prime_collects_once_without_a_report(collect: Callable[[], ProbeData]) -> None:
    probe, threaded = ScriptedProbe("host", collect), ScriptedProbe("smart", collect)
    probe.runs_inline = True
    runner = ProbeRunner([probe, threaded], "h", 10.0)
    runner.prime()
    assert (probe.calls, threaded.calls) == (1, 0), "only the inline probes need a baseline"
    assert runner.run_cycle().sequence == 1


def sleeps(seconds: float) -> Callable[[], ProbeData]:
    def collect() -> ProbeData:
        time.sleep(seconds)
        return healthy()

    return collect


def test_threaded_probes_run_at_the_same_time() -> None:
    probes = [ScriptedProbe(f"slow{n}", sleeps(0.3)) for n in range(4)]
    runner = ProbeRunner(probes, "h", 10.0)
    started = time.monotonic()
    results = runner.run_cycle().probes
    assert time.monotonic() - started < 0.9, "four 0.3 s probes took 1.2 s: one after another"
    assert [r.status for r in results] == ["ok"] * 4


def test_an_inline_probe_runs_in_the_cycle_thread() -> None:
    threads: list[threading.Thread] = []

    def record() -> ProbeData:
        threads.append(threading.current_thread())
        return healthy()

    inline = ScriptedProbe("host", record)
    inline.runs_inline = True
    ProbeRunner([inline], "h", 10.0).run_cycle()
    assert threads == [threading.current_thread()]


def test_a_hung_probe_is_an_error_at_the_deadline_and_is_not_started_again() -> None:
    release = threading.Event()

    def hang() -> ProbeData:
        release.wait(30)
        return healthy()

    hung, fine = ScriptedProbe("ipmi:web1", hang), ScriptedProbe("smart", healthy)
    runner = ProbeRunner([hung, fine], "h", 10.0, deadline_seconds=0.2)
    started = time.monotonic()
    first = runner.run_cycle().probes
    assert time.monotonic() - started < 2
    assert (first[0].status, first[1].status) == ("error", "ok")
    assert first[0].error is not None and "no result within the 0.2 s deadline" in first[0].error
    second = runner.run_cycle().probes
    assert second[0].status == "error" and hung.calls == 1, "started again while still running"
    release.set()
    wait_until(lambda: runner.run_cycle().probes[0].status == "ok", 5, "the late result")
    assert hung.calls == 1 and fine.calls >= 3


def test_a_probe_declaring_a_longer_deadline_is_waited_for() -> None:
    patient = ScriptedProbe("ipmi:web1", sleeps(0.4))
    patient.deadline_seconds = 2.0  # its own BMC timeout plus a margin
    hasty = ScriptedProbe("lmsensors", sleeps(1.5))  # past the runner's 0.1 s deadline
    runner = ProbeRunner([patient, hasty], "h", 10.0, deadline_seconds=0.1)
    started = time.monotonic()
    first, second = runner.run_cycle().probes
    assert time.monotonic() - started < 1.2, "waited for the probe past its deadline"
    assert (first.status, second.status) == ("ok", "error")
    assert second.error is not None and "0.1 s deadline" in second.error
