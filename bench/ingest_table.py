"""Figures of the collector ingest benchmark: per-phase results, progress lines, README table."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.fleet import SAMPLES_PER_REPORT
from bench.loadgen import LoadResult, ScrapeResult
from bench.storm_check import StormRecord

if TYPE_CHECKING:
    from bench.collector_ingest import Settings


@dataclass
class Phase:
    """What the client processes of one phase saw, with the collector's CPU over it."""

    name: str
    loads: list[LoadResult]
    collector_cpu: float = 0.0
    scrapes: ScrapeResult | None = None
    target_rate: float | None = None  # fixed-rate phases: the rate asked for
    wall: float = math.nan  # seconds the phase's processes ran, for the collector's CPU share
    others: float = 0.0  # CPU seconds used meanwhile by processes not part of the benchmark
    window: tuple[float, float] = (0.0, math.inf)  # latencies of reports sent in this window
    latencies: list[float] = field(init=False)

    def __post_init__(self) -> None:
        low, high = self.window
        self.latencies = sorted(
            latency
            for r in self.loads
            for latency, sent in zip(r.latencies, r.scheduled, strict=True)
            if low <= sent < high
        )

    def total(self, name: str) -> int:
        """Sum of one LoadResult counter over the client processes."""
        return sum(int(getattr(r, name)) for r in self.loads)

    @property
    def elapsed(self) -> float:
        """Longest client window (start to last answer)."""
        return max((r.elapsed for r in self.loads), default=0.0) or math.nan

    @property
    def per_second(self) -> float:
        """Answered reports per second."""
        return self.total("answered") / self.elapsed

    @property
    def evaluated_percent(self) -> float:
        """Share of answered reports the collector evaluated."""
        answered = self.total("answered")
        return 100 * self.total("evaluated") / answered if answered else math.nan

    def latency_ms(self, q: float) -> float:
        """Latency quantile `q` in ms (nan without answers)."""
        n = len(self.latencies)
        if not n:
            return math.nan
        return 1000 * self.latencies[min(n - 1, max(0, math.ceil(q * n) - 1))]

    @property
    def overloaded(self) -> bool:
        """A fixed-rate phase whose answers came in more than 5 % slower than scheduled."""
        return self.target_rate is not None and self.per_second < 0.95 * self.target_rate

    def problems(self) -> list[str]:
        """Errors, rejections and unsent reports, for the operator."""
        notes = [r.first_problem for r in self.loads if r.first_problem]
        counts = {k: self.total(k) for k in ("errors", "rejected", "unfinished")}
        if any(counts.values()):
            notes.insert(0, ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        return notes


@dataclass
class BackendFigures:
    """Everything measured against one collector."""

    database: str
    phases: dict[str, Phase] = field(default_factory=dict)
    rss_mib: float = math.nan
    fleet_rss_mib: float = math.nan
    storm_record: StormRecord = field(default_factory=StormRecord)
    skipped: str = ""


def print_phase(label: str, phase: Phase) -> None:
    """One line per phase as it finishes, so a long run shows progress."""
    windowed = phase.window != (0.0, math.inf)
    answered = len(phase.latencies) if windowed else phase.total("answered")
    line = (
        f"  [{label}] {phase.name:15s} {answered:7,d} answered in "
        f"{phase.elapsed:5.1f} s = {phase.per_second:7,.0f}/s, evaluated "
        f"{phase.evaluated_percent:5.1f} %, p50/p99/max {phase.latency_ms(0.5):7.1f} / "
        f"{phase.latency_ms(0.99):7.1f} / {phase.latency_ms(1.0):7.1f} ms"
    )
    client_cpu = sum(r.client_cpu_seconds for r in phase.loads)
    if phase.total("sent"):
        line += f", client CPU {client_cpu / phase.total('sent') * 1e6:,.0f} µs/report"
    if phase.collector_cpu and phase.total("answered") and phase.name != "storm":
        line += (
            f", collector CPU {phase.collector_cpu / phase.total('answered') * 1e6:,.0f} µs/report"
        )
    if phase.others:
        line += f"; other processes {phase.others / phase.wall:.2f} cores"
    print(line, flush=True)
    for note in phase_notes(phase):
        print(f"  [{label}]   {note}", flush=True)


def phase_notes(phase: Phase) -> list[str]:
    """Scrapes, the storm's CPU, overload, errors and a shortfall in evaluation."""
    notes = []
    if phase.scrapes is not None:
        scrapes = phase.scrapes
        durations = ", ".join(f"{d:.2f}" for d in scrapes.durations)
        notes.append(f"/metrics scrapes: {durations} s; {max(scrapes.sizes, default=0):,} bytes")
        notes += [f"scrape FAILED: {failure}" for failure in scrapes.failures[:3]]
    if phase.name == "storm":
        share = 100 * phase.collector_cpu / phase.wall
        notes.append(
            f"collector CPU over the storm phase: {phase.collector_cpu:.1f} s "
            f"in {phase.wall:.1f} s ({share:.0f} % of a core)"
        )
    if phase.overloaded:
        notes.append(
            f"OVERLOADED: {phase.per_second:,.0f}/s answered of "
            f"{phase.target_rate:,.0f}/s scheduled; latency grows with the phase length"
        )
    notes += [f"PROBLEM: {note}" for note in phase.problems()[:4]]
    if phase.total("answered") and phase.evaluated_percent < 100:
        notes.append(f"WARNING: only {phase.evaluated_percent:.2f} % of reports were evaluated")
    return notes


def milliseconds(value: float) -> str:
    """A latency in ms with sensible precision."""
    if math.isnan(value):
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def mebibytes(value: float) -> str:
    """A memory figure, or a dash when it was not measured."""
    return "—" if math.isnan(value) else f"{value:,.0f} MiB"


def percent(value: float) -> str:
    """100 % exactly, or the shortfall visible."""
    return "100 %" if value == 100 else f"{value:.2f} %"


def capacity_cell(f: BackendFigures) -> str:
    """Reports/s and samples/s of the closed-loop phase."""
    phase = f.phases["capacity"]
    return (
        f"{phase.per_second:,.0f} reports/s ≈ {phase.per_second * SAMPLES_PER_REPORT:,.0f} "
        f"samples/s ({percent(phase.evaluated_percent)} evaluated)"
    )


def cpu_cell(f: BackendFigures) -> str:
    """Collector CPU per sample and per report in the closed-loop phase."""
    phase = f.phases["capacity"]
    per_report = phase.collector_cpu / max(1, phase.total("answered")) * 1e6
    return f"{per_report / SAMPLES_PER_REPORT:.2f} µs ({per_report:,.0f} µs per report)"


def latency_cell(phase: Phase, with_max: bool = False) -> str:
    """p50 / p99 (and max), flagged when overloaded or when reports were lost."""
    cell = f"{milliseconds(phase.latency_ms(0.5))} / {milliseconds(phase.latency_ms(0.99))} ms"
    if with_max:
        cell += f" (max {milliseconds(phase.latency_ms(1.0))} ms)"
    if phase.overloaded:
        cell += f", overloaded: {phase.per_second:,.0f}/s answered"
    lost = phase.total("errors") + phase.total("unfinished") + phase.total("rejected")
    return cell + (f", {lost:,} failed or unsent" if lost else "")


def scrape_cell(f: BackendFigures) -> str:
    """How long /metrics took and how big it was."""
    scrapes = f.phases["latency+scrape"].scrapes
    if scrapes is None or not scrapes.durations:
        return "n/a (no scrape succeeded)"
    durations = sorted(scrapes.durations)
    return (
        f"{durations[len(durations) // 2]:.2f} s median, {durations[-1]:.2f} s max "
        f"({len(durations)} scrapes, {max(scrapes.sizes) / 1e6:.1f} MB)"
    )


def storm_cell(f: BackendFigures) -> str:
    """Storm reports evaluated per second: each one opens or resolves an incident."""
    phase = f.phases["storm"]
    rate = phase.total("evaluated") / phase.elapsed
    cell = f"{rate:,.0f}/s ({percent(phase.evaluated_percent)} evaluated"
    if f.storm_record.timelines_read:
        recorded = sum(f.storm_record.transitions.values())
        cell += f"; {recorded:,} of {phase.total('evaluated'):,} on incident timelines"
    return cell + ")"


def storm_others_cell(f: BackendFigures) -> str:
    """The fleet's latency before the storm and while it runs."""
    before, during = f.phases["before storm"], f.phases["during storm"]
    return (
        f"{milliseconds(before.latency_ms(0.5))} / {milliseconds(before.latency_ms(0.99))} → "
        + latency_cell(during, with_max=True)
    )


def evaluated_cell(f: BackendFigures) -> str:
    """Share of all answered reports the collector evaluated."""
    loads = {id(r): r for p in f.phases.values() for r in p.loads}.values()  # phases may share
    answered = sum(r.answered for r in loads)
    evaluated = sum(r.evaluated for r in loads)
    return f"{percent(100 * evaluated / answered if answered else math.nan)} of {answered:,}"


def table_cell(figures: BackendFigures, cell: Callable[[BackendFigures], str]) -> str:
    """A cell, or why there is none (phase not reached, collector failed, no PostgreSQL)."""
    if not figures.phases:
        return figures.skipped or "n/a"
    try:
        return cell(figures)
    except KeyError:
        return figures.skipped or "n/a"


def table(results: list[BackendFigures], s: Settings) -> str:
    """The Markdown table for the README."""
    rows = [
        (
            f"ingest capacity, {s.agents:,} agents, {SAMPLES_PER_REPORT} samples/report",
            capacity_cell,
        ),
        ("collector CPU per sample", cpu_cell),
        (
            f"ingest latency p50 / p99 at {s.rate:,.0f} reports/s",
            lambda f: latency_cell(f.phases["latency"]),
        ),
        (
            f"… while /metrics is scraped every {s.scrape_every:g} s",
            lambda f: latency_cell(f.phases["latency+scrape"], with_max=True),
        ),
        (f"/metrics scrape, {s.agents:,} hosts", scrape_cell),
        (
            f"storm: transitions/s ({s.storm_hosts} hosts, each report opens, resolves or reopens)",
            storm_cell,
        ),
        (
            f"… other hosts at {s.storm_rate:,.0f} reports/s: p50 / p99 before → during the storm",
            storm_others_cell,
        ),
        (f"collector RSS, {s.agents:,} hosts", lambda f: mebibytes(f.rss_mib)),
    ]
    if s.fleet_hosts:
        rows.append(
            (
                f"collector RSS, {s.fleet_hosts:,} hosts ({s.fleet_rounds} reports each)",
                lambda f: mebibytes(f.fleet_rss_mib),
            )
        )
    rows.append(("reports evaluated (all phases)", evaluated_cell))
    lines = ["| collector | " + " | ".join(f.database for f in results) + " |"]
    lines.append("|---" * (len(results) + 1) + "|")
    for title, cell in rows:
        cells = [table_cell(f, cell) for f in results]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def conditions(results: list[BackendFigures]) -> str:
    """How busy the machine was with other work: figures from a shared machine are noisier."""
    phases = [p for f in results for p in f.phases.values() if not math.isnan(p.wall)]
    phases = list({id(p): p for p in phases}.values())
    wall = sum(p.wall for p in phases)
    if not wall:
        return f"{os.cpu_count()} cores"
    return (
        f"{os.cpu_count()} cores; processes outside the benchmark used "
        f"{sum(p.others for p in phases) / wall:.2f} cores on average while it ran "
        "(collector and load generator share the same cores)"
    )


def per_report_us(f: BackendFigures) -> float:
    """Collector CPU per report in the closed-loop phase, in µs."""
    phase = f.phases["capacity"]
    return phase.collector_cpu / max(1, phase.total("answered")) * 1e6


def change(before: float, after: float) -> str:
    """The relative change from `before` to `after`, e.g. "+12 %"."""
    if not before or math.isnan(before) or math.isnan(after):
        return "n/a"
    return f"{100 * (after - before) / before:+.0f} %"


def security_cost(plain: BackendFigures, secured: BackendFigures, s: Settings) -> str:
    """The same load over plain HTTP and over HTTPS with mutual TLS and token limits."""

    def capacity(f: BackendFigures) -> str:
        return f"{f.phases['capacity'].per_second:,.0f} reports/s"

    def capacity_change(f: BackendFigures) -> str:
        before = plain.phases["capacity"].per_second
        return f"{capacity(f)} ({change(before, f.phases['capacity'].per_second)})"

    def cpu(f: BackendFigures) -> str:
        return f"{per_report_us(f):,.0f} µs"

    def cpu_change(f: BackendFigures) -> str:
        return f"{cpu(f)} ({change(per_report_us(plain), per_report_us(f))})"

    rows = [
        (f"ingest capacity, {s.agents:,} agents", capacity, capacity_change),
        ("collector CPU per report", cpu, cpu_change),
        (
            f"ingest latency p50 / p99 at {s.rate:,.0f} reports/s",
            lambda f: latency_cell(f.phases["latency"]),
            lambda f: latency_cell(f.phases["latency"]),
        ),
    ]
    lines = [
        "| cost of security (SQLite, same load) | plain HTTP, token | "
        "HTTPS + mutual TLS, token with host glob, cap and rate |",
        "|---|---|---|",
    ]
    for title, left, right in rows:
        lines.append(f"| {title} | {table_cell(plain, left)} | {table_cell(secured, right)} |")
    return "\n".join(lines)
