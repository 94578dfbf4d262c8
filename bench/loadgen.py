"""Load generator: simulated agents POSTing fresh reports over keep-alive HTTP/1.1 to 127.0.0.1.

A `LoadPlan` runs in its own client process on an asyncio loop, in one of two modes:
- closed loop (`rate=None`): each connection sends its hosts' next report as soon as the last
  answer arrives, which measures the collector's capacity;
- fixed rate: reports are scheduled `rate` per second and latency is counted from the
  *scheduled* time, so a stalled collector is charged for the queue it causes (no coordinated
  omission) instead of slowing the generator down.
Each host is pinned to one connection, so its reports arrive in sequence order. Every loop is
bounded in time (window + drain) and in count (`rounds` per host, `rate * seconds`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import time
from dataclasses import dataclass, field

from bench.collector_process import READER
from bench.fleet import SimulatedHost
from bench.tls_files import TlsFiles

STORM_BREACH, STORM_RECOVER = 0.99, 0.5
# ValueError: a garbled status line or Content-Length.
TRANSPORT_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


@dataclass(frozen=True)
class LoadPlan:
    """What one client process sends."""

    port: int
    token: str
    host_prefix: str
    first_host: int
    host_count: int
    seconds: float
    start_at: float  # time.time() at which the window opens, shared by all client processes
    delay: float = 0.0  # start this many seconds after start_at
    connections: int = 4
    rate: float | None = None  # reports/s; None means closed loop
    rounds: int = 100_000  # closed loop: at most this many reports per host
    storm: bool = False  # alternate a breaching and a recovered memory_used_ratio
    sequence_start: int = 0
    request_timeout: float = 30.0
    drain_seconds: float = 20.0
    tls: TlsFiles | None = None  # HTTPS, verifying the collector and presenting a certificate


@dataclass
class LoadResult:
    """What one client process saw; latencies in seconds."""

    sent: int = 0
    answered: int = 0  # 202
    evaluated: int = 0  # 202 with "evaluated": true
    rejected: int = 0  # any other status
    errors: int = 0  # connection errors and timeouts
    unfinished: int = 0  # scheduled but not sent before the drain deadline
    elapsed: float = 0.0  # window start to last answer
    client_cpu_seconds: float = 0.0
    first_problem: str = ""
    latencies: list[float] = field(default_factory=list)
    scheduled: list[float] = field(default_factory=list)  # each latency's send time, s from start

    def problem(self, text: str) -> None:
        """Remember the first thing that went wrong, for the operator."""
        self.first_problem = self.first_problem or text


@dataclass(frozen=True)
class ScrapePlan:
    """A Prometheus stand-in: GET /metrics every `every` seconds during the window."""

    port: int
    every: float
    seconds: float
    start_at: float
    timeout: float = 60.0


@dataclass
class ScrapeResult:
    """Duration and size of each scrape."""

    durations: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    client_cpu_seconds: float = 0.0


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to the collector on loopback."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        """Send one request and read the whole answer."""
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.tls
            )
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
        await self._writer.drain()
        head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        answer = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)
        }
        if answer.get("transfer-encoding", "").lower() == "chunked":
            content = await self._read_chunked(self._reader)
        else:
            content = await self._reader.readexactly(int(answer.get("content-length", "0")))
        if answer.get("connection", "").lower() == "close":
            self.close()
        return status, content

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        return b"".join(parts)

    def close(self) -> None:
        """Drop the connection; the next request opens a new one."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class AgentSender:
    """Posts the next report of a host on a connection and records the outcome."""

    def __init__(self, plan: LoadPlan, result: LoadResult, start: float) -> None:
        self.plan = plan
        self.result = result
        self.start = start
        self.auth = f"Bearer {plan.token}"
        self.tls = plan.tls.client_context() if plan.tls else None  # one per client process

    async def post(self, connection: HttpConnection, host: SimulatedHost, scheduled: float) -> None:
        """One report; latency counted from `scheduled` (time.monotonic())."""
        ratio = None
        if self.plan.storm:
            ratio = STORM_BREACH if host.sequence % 2 == 0 else STORM_RECOVER
        body = host.next_body(time.time(), ratio)
        headers = {
            "Authorization": self.auth,
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-Watchkeeper-Sent-At": f"{time.time():.6f}",
        }
        self.result.sent += 1
        try:
            status, content = await asyncio.wait_for(
                connection.request("POST", "/api/v1/reports", headers, body),
                self.plan.request_timeout,
            )
        except TRANSPORT_ERRORS as exc:
            connection.close()
            self.result.errors += 1
            self.result.problem(f"POST failed: {type(exc).__name__}: {exc}")
            return
        self.result.latencies.append(time.monotonic() - scheduled)
        self.result.scheduled.append(scheduled - self.start)
        self.record(status, content)

    def record(self, status: int, content: bytes) -> None:
        """Count an answer: accepted, and evaluated or not, or rejected with its reason."""
        if status != 202:
            self.result.rejected += 1
            self.result.problem(f"POST answered {status}: {content[:300]!r}")
            return
        self.result.answered += 1
        try:
            evaluated = json.loads(content).get("evaluated") is True
        except (ValueError, AttributeError):
            self.result.problem(f"202 answer is not a JSON object: {content[:300]!r}")
            return
        self.result.evaluated += evaluated


def simulated_hosts(plan: LoadPlan) -> list[SimulatedHost]:
    """The plan's hosts, numbered from `first_host`, each continuing at `sequence_start`."""
    return [
        SimulatedHost(f"{plan.host_prefix}-{n:05d}", n, plan.sequence_start)
        for n in range(plan.first_host, plan.first_host + plan.host_count)
    ]


async def closed_loop(plan: LoadPlan, sender: AgentSender, start: float) -> None:
    """Each connection cycles through its hosts until the window closes or `rounds` are sent."""
    hosts = simulated_hosts(plan)
    deadline = start + plan.seconds

    async def worker(connection: HttpConnection, mine: list[SimulatedHost]) -> None:
        for _round in range(plan.rounds):
            for host in mine:
                now = time.monotonic()
                if now >= deadline:
                    return
                await sender.post(connection, host, now)

    connections = [HttpConnection(plan.port, sender.tls) for _ in range(plan.connections)]
    workers = [worker(c, hosts[i :: plan.connections]) for i, c in enumerate(connections)]
    await asyncio.gather(*workers)
    for connection in connections:
        connection.close()


async def fixed_rate(plan: LoadPlan, sender: AgentSender, start: float) -> None:
    """Schedule `rate` reports per second round-robin over the hosts; send in FIFO per host."""
    assert plan.rate is not None
    hosts = simulated_hosts(plan)
    queues: list[asyncio.Queue[tuple[float, SimulatedHost] | None]] = [
        asyncio.Queue() for _ in range(plan.connections)
    ]
    drain_deadline = start + plan.seconds + plan.drain_seconds

    async def worker(
        connection: HttpConnection, queue: asyncio.Queue[tuple[float, SimulatedHost] | None]
    ) -> None:
        while (item := await queue.get()) is not None:
            if time.monotonic() > drain_deadline:
                sender.result.unfinished += 1
                continue
            await sender.post(connection, item[1], item[0])
        connection.close()

    connections = [HttpConnection(plan.port, sender.tls) for _ in range(plan.connections)]
    tasks = [asyncio.create_task(worker(c, q)) for c, q in zip(connections, queues, strict=True)]
    total, scheduled = int(plan.rate * plan.seconds), 0
    while scheduled < total:
        due = min(total, int((time.monotonic() - start) * plan.rate) + 1)
        for i in range(scheduled, due):
            index = i % len(hosts)
            queues[index % plan.connections].put_nowait((start + i / plan.rate, hosts[index]))
        scheduled = due
        await asyncio.sleep(0.001)
    for queue in queues:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)


def run_load(plan: LoadPlan) -> LoadResult:
    """Client-process entry point: wait for the shared start, run the plan, return the result."""
    result = LoadResult()
    time.sleep(max(0.0, plan.start_at + plan.delay - time.time()))
    cpu, start = time.process_time(), time.monotonic()
    sender = AgentSender(plan, result, start)
    mode = closed_loop if plan.rate is None else fixed_rate
    asyncio.run(mode(plan, sender, start))
    result.elapsed = time.monotonic() - start
    result.client_cpu_seconds = time.process_time() - cpu
    return result


def run_scrapes(plan: ScrapePlan) -> ScrapeResult:
    """Scraper-process entry point: the first scrape 1 s into the window, then every `every` s."""
    result = ScrapeResult()
    time.sleep(max(0.0, plan.start_at - time.time()))
    start, cpu = time.monotonic(), time.process_time()
    for k in range(int(plan.seconds // plan.every) + 1):
        due = start + 1.0 + k * plan.every
        if due >= start + plan.seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        began = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=plan.timeout)
            connection.request("GET", "/metrics", headers=READER)
            response = connection.getresponse()
            size = len(response.read())
            connection.close()
        except (OSError, http.client.HTTPException) as exc:
            result.failures.append(f"{type(exc).__name__}: {exc}")
            continue
        if response.status != 200:
            result.failures.append(f"/metrics answered {response.status}")
            continue
        result.durations.append(time.monotonic() - began)
        result.sizes.append(size)
    result.client_cpu_seconds = time.process_time() - cpu
    return result


def run_job(job: LoadPlan | ScrapePlan) -> LoadResult | ScrapeResult:
    """Dispatch for a process pool."""
    return run_scrapes(job) if isinstance(job, ScrapePlan) else run_load(job)
