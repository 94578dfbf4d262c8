"""Collector ingest benchmark: simulated agents POST fresh reports to a real collector process.

One collector per database (SQLite in a temp folder, then a throwaway PostgreSQL database), on
127.0.0.1, driven only through its CLI and HTTP API. Phases, in order:
1. warm-up: every agent reports once (first reports create the hosts);
2. capacity: closed loop from `--clients` processes: reports/s, collector CPU per report and
   per sample (read from /proc, so it holds when the clients share the cores), RSS;
3. latency at a fixed rate (1,000 reports/s), counted from each report's scheduled time;
4. the same while /metrics is scraped every few seconds, with the scrape's duration and size;
5. storm: the fleet reports at 250/s; after 3 s, storm hosts start alternating
   memory_used_ratio 0.99 / 0.5 against a `for: 0s` rule, so every report of theirs opens or
   resolves an incident: transitions/s, and the fleet's latency before and during the storm;
6. optional (`--fleet-hosts 10000`): RSS with a larger fleet.
Then the cost of security: phases 1-3 again, same load, on SQLite over HTTPS with mutual TLS
(certificates made at run time) and an agent token whose host glob, host cap and rate are
checked on every report (`--no-secure` skips it; `--security-only` runs just phases 1-3 plain,
then secured).
Every report is new (rising `sequence`, current `time`, an X-Watchkeeper-Sent-At header); each
202 says whether the collector evaluated it, and the fraction evaluated is printed (anything
under 100 % is flagged). `--quick` shortens every phase; `--commit HEAD` runs the collector of
a commit (git archive) instead of the working tree; the CPU used by processes outside the
benchmark is printed, because the 2 cores may be shared.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from bench.collector_process import (
    TOKEN,
    CollectorError,
    CollectorProcess,
    export_commit,
    machine_busy_seconds,
    postgres_database,
)
from bench.fleet import SAMPLES_PER_REPORT
from bench.ingest_table import (
    BackendFigures,
    Phase,
    conditions,
    print_phase,
    security_cost,
    table,
)
from bench.loadgen import LoadPlan, LoadResult, ScrapePlan, ScrapeResult, run_job
from bench.storm_check import storm_record
from bench.tls_files import TlsFiles, make_tls_files

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECURED = "SQLite, HTTPS + mTLS"
SEQUENCE_STRIDE = 10_000_000  # each phase starts every host's sequence one stride higher


@dataclass(frozen=True)
class Settings:
    """Sizes and durations of the phases (every loop is bounded by these)."""

    agents: int = 1000
    seconds: float = 10.0
    clients: int = 2
    rate: float = 1000.0
    latency_seconds: float = 10.0
    scrape_seconds: float = 15.0
    scrape_every: float = 5.0
    storm_seconds: float = 10.0
    storm_hosts: int = 20  # few, so that each flips many times: opens, resolves, reopens
    storm_rate: float = 250.0  # the fleet's rate beside the storm, below any collector's limit
    storm_lead: float = 3.0  # seconds of fleet traffic before the storm starts (the baseline)
    fleet_hosts: int = 0
    fleet_rounds: int = 3
    postgres: str | None = DEFAULT_POSTGRES
    source: Path | None = None
    commit: str | None = None
    secure: bool = True  # also measure SQLite over HTTPS with mutual TLS and token limits
    security_only: bool = False  # only warm-up, capacity and latency, plain then secured


QUICK = {"seconds": 4.0, "latency_seconds": 4.0, "scrape_seconds": 7.0, "scrape_every": 3.0}
QUICK |= {"storm_seconds": 4.0, "storm_lead": 2.0}


class IngestBench:
    """Runs the phases against one started collector."""

    def __init__(self, settings: Settings, collector: CollectorProcess) -> None:
        self.settings = settings
        self.collector = collector
        self.phase_number = 0
        self.last_cpu = 0.0  # collector CPU seconds over the last run()
        self.last_wall = 0.0  # and its wall-clock seconds
        self.last_others = 0.0  # and the CPU other processes on the machine used meanwhile

    def plan(
        self, prefix: str, first: int, count: int, seconds: float, **options: object
    ) -> LoadPlan:
        """A client plan; every phase continues each host's sequence above the last phase's."""
        return LoadPlan(
            port=self.collector.port,
            token=TOKEN,
            host_prefix=prefix,
            first_host=first,
            host_count=count,
            seconds=seconds,
            start_at=0.0,
            sequence_start=self.phase_number * SEQUENCE_STRIDE,
            tls=self.collector.tls,
            **options,  # type: ignore[arg-type]
        )

    def split(
        self, prefix: str, count: int, parts: int, seconds: float, **options: object
    ) -> list[LoadPlan]:
        """`count` hosts shared out over `parts` client processes."""
        bounds = [count * i // parts for i in range(parts + 1)]
        return [
            self.plan(prefix, bounds[i], bounds[i + 1] - bounds[i], seconds, **options)
            for i in range(parts)
            if bounds[i + 1] > bounds[i]
        ]

    def run(
        self, name: str, jobs: Sequence[LoadPlan | ScrapePlan]
    ) -> list[LoadResult | ScrapeResult]:
        """Start every job in its own process at the same moment; bounded by the longest plan."""
        self.phase_number += 1
        start_at = time.time() + 1.0  # lets the collector settle after the previous phase
        jobs = [replace(job, start_at=start_at) for job in jobs]
        limit = max(j.seconds + getattr(j, "drain_seconds", 0.0) for j in jobs) + 90
        before, wall = self.collector.cpu_seconds(), time.monotonic()
        machine = machine_busy_seconds()
        with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
            try:
                results = pool.map_async(run_job, jobs).get(timeout=limit)
            except multiprocessing.TimeoutError as exc:
                self.collector.check_alive(f"during the {name} phase")
                raise CollectorError(
                    f"the {name} phase did not finish within {limit:g} s; the collector "
                    f"stopped answering?\n{self.collector.log_tail()}"
                ) from exc
        self.last_cpu = self.collector.cpu_seconds() - before
        self.last_wall = time.monotonic() - wall
        clients = sum(r.client_cpu_seconds for r in results)
        busy = machine_busy_seconds() - machine
        self.last_others = max(0.0, busy - self.last_cpu - clients)
        self.collector.check_alive(f"during the {name} phase")
        return results

    def phase(self, name: str, jobs: Sequence[LoadPlan | ScrapePlan]) -> Phase:
        """Run jobs and gather the load results (and the scrapes, if any) into one Phase."""
        results = self.run(name, jobs)
        loads = [r for r in results if isinstance(r, LoadResult)]
        scrapes = next((r for r in results if isinstance(r, ScrapeResult)), None)
        return Phase(
            name, loads, self.last_cpu, scrapes, wall=self.last_wall, others=self.last_others
        )

    def warm_up(self) -> Phase:
        """Every agent reports once."""
        s = self.settings
        return self.phase("warm-up", self.split("bench", s.agents, 1, 60.0, rounds=1))

    def capacity(self) -> Phase:
        """As fast as the collector answers, from `clients` processes."""
        s = self.settings
        plans = self.split("bench", s.agents, s.clients, s.seconds, connections=8)
        return self.phase("capacity", plans)

    def latency(self, seconds: float, scrape_every: float | None) -> Phase:
        """The fleet at the fixed rate; with a scraper process beside it if `scrape_every`."""
        s = self.settings
        jobs: list[LoadPlan | ScrapePlan] = [
            *self.split("bench", s.agents, 1, seconds, rate=s.rate, connections=32)
        ]
        if scrape_every:
            jobs.append(ScrapePlan(self.collector.port, scrape_every, seconds, 0.0))
        phase = self.phase("latency+scrape" if scrape_every else "latency", jobs)
        phase.target_rate = s.rate
        return phase

    def storm(self) -> tuple[Phase, Phase, Phase]:
        """The fleet at `storm_rate`; after `storm_lead` s, storm hosts flip a `for: 0s` rule on
        every report. Returns the storm, and the fleet's latency before and during it."""
        s = self.settings
        storm = self.plan(
            "storm",
            0,
            s.storm_hosts,
            s.storm_seconds,
            storm=True,
            connections=min(s.storm_hosts, 32),  # one per agent, as real agents connect
            delay=s.storm_lead,
        )
        seconds = s.storm_lead + s.storm_seconds
        fleet = self.plan("bench", 0, s.agents, seconds, rate=s.storm_rate, connections=32)
        storm_result, fleet_result = self.run("storm", [storm, fleet])
        assert isinstance(storm_result, LoadResult) and isinstance(fleet_result, LoadResult)
        before, during = (min(0.5, s.storm_lead / 2), s.storm_lead), (s.storm_lead, seconds)
        return (
            Phase(
                "storm", [storm_result], self.last_cpu, wall=self.last_wall, others=self.last_others
            ),
            Phase("before storm", [fleet_result], target_rate=s.storm_rate, window=before),
            Phase("during storm", [fleet_result], target_rate=s.storm_rate, window=during),
        )

    def fleet(self) -> Phase:
        """`fleet_hosts` agents report `fleet_rounds` times each (closed loop)."""
        s = self.settings
        seconds = max(60.0, s.fleet_hosts * s.fleet_rounds / 250)
        plans = self.split("bench", s.fleet_hosts, s.clients, seconds, rounds=s.fleet_rounds)
        return self.phase(f"fleet {s.fleet_hosts}", plans)


def run_backend(
    figures: BackendFigures,
    database: str,
    settings: Settings,
    folder: Path,
    tls: TlsFiles | None = None,
    full: bool = True,
) -> None:
    """The phases against one collector on `database` (all, or with `full` off warm-up,
    capacity and latency only), filling `figures` as they finish."""
    label = figures.database
    with CollectorProcess(folder, database, settings.source, tls=tls) as collector:
        bench = IngestBench(settings, collector)
        steps = [
            ("warm-up", bench.warm_up),
            ("capacity", bench.capacity),
            ("latency", lambda: bench.latency(settings.latency_seconds, None)),
            (
                "latency+scrape",
                lambda: bench.latency(settings.scrape_seconds, settings.scrape_every),
            ),
        ]
        for name, step in steps[: None if full else 3]:
            figures.phases[name] = step()
            print_phase(label, figures.phases[name])
            if name == "capacity":
                figures.rss_mib = collector.rss_mib()
        if not full:
            return
        for phase in bench.storm():
            figures.phases[phase.name] = phase
            print_phase(label, phase)
        figures.storm_record = storm_record(collector)
        print(f"  [{label}] storm, read back: {figures.storm_record.describe()}", flush=True)
        if settings.fleet_hosts:
            print_phase(label, bench.fleet())
            figures.fleet_rss_mib = collector.rss_mib()


def settings_from(argv: Sequence[str] | None) -> Settings:
    """Command-line flags (and WK_BENCH_QUICK / WK_BENCH_POSTGRES) into Settings."""
    parser = argparse.ArgumentParser(prog="python -m bench.collector_ingest", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short phases (~25 s per database)")
    parser.add_argument("--agents", type=int, help="simulated agents (default 1000)")
    parser.add_argument("--seconds", type=float, help="capacity phase length (default 10)")
    parser.add_argument("--clients", type=int, help="client processes for capacity (default 2)")
    parser.add_argument("--rate", type=float, help="fixed rate, reports/s (default 1000)")
    parser.add_argument("--latency-seconds", type=float, help="fixed-rate phase length")
    parser.add_argument("--scrape-seconds", type=float, help="fixed rate + /metrics phase length")
    parser.add_argument("--scrape-every", type=float, help="seconds between scrapes (default 5)")
    parser.add_argument("--storm-seconds", type=float, help="storm phase length (default 10)")
    parser.add_argument("--storm-hosts", type=int, help="hosts in the storm (default 20)")
    parser.add_argument("--storm-rate", type=float, help="fleet rate beside the storm (250)")
    parser.add_argument("--fleet-hosts", type=int, help="also measure RSS at this many hosts")
    parser.add_argument("--postgres", help=f"PostgreSQL server URL (default {DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--no-secure", action="store_true", help="skip the HTTPS + mutual TLS measurement"
    )
    parser.add_argument(
        "--security-only",
        action="store_true",
        help="only the cost of security: warm-up, capacity and latency on SQLite, plain HTTP "
        "then HTTPS with mutual TLS and token limits",
    )
    parser.add_argument(
        "--commit",
        help="run the collector from this commit of the repository (git archive), e.g. HEAD",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=os.environ.get("WK_BENCH_SOURCE"),
        help="run the collector from this source tree, e.g. `git archive HEAD` unpacked "
        "(default: the installed watchkeeper; env WK_BENCH_SOURCE)",
    )
    args = parser.parse_args(argv)
    values: dict[str, object] = {}
    if args.quick or os.environ.get("WK_BENCH_QUICK"):
        values |= QUICK
    values |= {
        k: v for k, v in vars(args).items() if v is not None and k in Settings.__dataclass_fields__
    }
    postgres = args.postgres or os.environ.get("WK_BENCH_POSTGRES", DEFAULT_POSTGRES)
    values["postgres"] = None if args.no_postgres or postgres == "off" else postgres
    values["secure"] = not args.no_secure or args.security_only
    settings = Settings(**values)  # type: ignore[arg-type]
    if min(settings.agents, settings.clients, settings.storm_hosts) < 1 or settings.rate <= 0:
        parser.error("--agents, --clients, --storm-hosts and --rate must be positive")
    return settings


def measure(
    label: str,
    database: str,
    settings: Settings,
    folder: Path,
    tls: TlsFiles | None = None,
    full: bool = True,
) -> BackendFigures:
    """run_backend, turning a collector failure into a skipped column with the reason."""
    folder.mkdir()
    figures = BackendFigures(label)
    try:
        run_backend(figures, database, settings, folder, tls, full)
    except CollectorError as exc:
        print(f"  [{label}] COLLECTOR FAILED: {exc}", flush=True)
        figures.skipped = f"failed: {str(exc).splitlines()[0]}"
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the phases on SQLite, then PostgreSQL, and print the table."""
    settings = settings_from(argv)
    print(
        f"collector ingest: {settings.agents:,} agents × {SAMPLES_PER_REPORT} samples, fresh "
        f"reports; capacity {settings.seconds:g} s from {settings.clients} clients, fixed rate "
        f"{settings.rate:,.0f}/s",
        flush=True,
    )
    results: list[BackendFigures] = []
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        folder = Path(tmp)
        if settings.commit:
            settings = replace(settings, source=export_commit(settings.commit, folder))
            print(f"collector from commit {settings.commit}, unpacked in {settings.source}")
        full = not settings.security_only
        plain = measure(
            "SQLite", f"sqlite:///{folder / 'bench.db'}", settings, folder / "sqlite", full=full
        )
        results.append(plain)
        if settings.secure:
            tls = make_tls_files(folder / "tls")
            database = f"sqlite:///{folder / 'secured.db'}"
            secured = measure(SECURED, database, settings, folder / "secured", tls, full=False)
            results.append(secured)
        if settings.postgres and full:
            with ExitStack() as stack:
                try:
                    url = stack.enter_context(postgres_database(settings.postgres))
                except Exception as exc:  # any reason to skip is printed
                    print(f"  [PostgreSQL] skipped: {type(exc).__name__}: {exc}", flush=True)
                    results.append(BackendFigures("PostgreSQL", skipped="skipped (no server)"))
                else:
                    pg = replace(settings, fleet_hosts=0)
                    results.append(measure("PostgreSQL", url, pg, folder / "postgresql"))
    print()
    if not settings.security_only:
        print(table(results, settings))
    if settings.secure:
        print(security_cost(results[0], results[1], settings))
    print(f"\n{conditions(results)}")
    failed = any(f.skipped.startswith("failed") for f in results)
    partial = any(p.evaluated_percent < 100 for f in results for p in f.phases.values())
    return 1 if failed or partial else 0


if __name__ == "__main__":
    raise SystemExit(main())
