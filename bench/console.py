"""The console's server time at scale: the overview, the incident list and a host page with H
hosts and N incidents in the store (p50/p99 over repeated requests), and the overview's page
weight (HTML + CSS + JS bytes).

The collector is built as `watchkeeper-collector` builds it, on a fresh SQLite database, and
its ASGI app is called in-process (no sockets: the figures are the server's own time). The
incidents are copies of one real incident (bench.reports.write_incidents), every 50th left
open; the host page's host has a day of one-a-minute reports in the short-term history.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bench.fleet import SimulatedHost
from bench.reports import MONTH, write_incidents
from collector.app import build_collector
from collector.config import ApiToken, CollectorConfig
from collector.history.recent import RecentHistory
from collector.store.database import migrate, open_database
from collector.store.repository import HostRecord
from collector.store.schema import incidents
from collector.web.console import STATIC_FILES

TOKEN = "bench-console-viewer-token"
OPEN_EVERY = 50  # one incident in 50 is still open: the overview's work


async def _get(app: Any, path: str) -> tuple[int, bytes]:
    """One GET through the app's middleware and routes; status and body."""
    target, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": target, "raw_path": target.encode(),
        "query_string": query.encode(), "root_path": "", "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
    }  # fmt: skip
    body, status, asked, done = bytearray(), 0, [False], asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not asked[0]:
            asked[0] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()  # a streaming response listens for the client going away
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, bytes(body)


def _timed(app: Any, path: str, repeats: int) -> dict[str, float]:
    async def run() -> list[float]:
        spent = []
        for _ in range(repeats):
            started = time.perf_counter()
            status, _body = await _get(app, path)
            spent.append(time.perf_counter() - started)
            assert status == 200, f"GET {path}: {status}"
        return spent

    spent = sorted(asyncio.run(run()))
    return {
        "p50_ms": statistics.median(spent) * 1000,
        "p99_ms": spent[min(len(spent) - 1, int(len(spent) * 0.99))] * 1000,
    }


def _weight(app: Any) -> dict[str, float]:
    async def run() -> dict[str, float]:
        html = len((await _get(app, "/"))[1])
        statics = [len((await _get(app, f"/static/{name}"))[1]) for name in STATIC_FILES]
        return {"html_bytes": float(html), "css_js_bytes": float(sum(statics))}

    return asyncio.run(run())


def build(tmp: Path, hosts: int, count: int) -> tuple[Any, str]:
    """A collector over `hosts` hosts and `count` incidents; its app and a host to show."""
    url = f"sqlite:///{tmp / 'wk.db'}"
    engine = open_database(url)
    migrate(engine)
    write_incidents(engine, hosts, count)
    with engine.begin() as conn:
        conn.execute(update(incidents).where(incidents.c.id % OPEN_EVERY == 0).values(
            state="triggered", resolved_at=None))  # fmt: skip
    engine.dispose()
    now = MONTH.end
    config = CollectorConfig(
        database=url,
        api_tokens=[ApiToken(name="bench", token=TOKEN, role="viewer")],
    )
    collector = build_collector(config, clock=lambda: now)
    collector.hosts.load(
        [HostRecord(f"host-{h}", now - 86400, now - (h % 7)) for h in range(hosts)]
    )
    # The short-term history is wired as an ingest observer (collector.app); feed it directly.
    owners = [getattr(o, "__self__", None) for o in collector.evaluator.observers]
    recent = next(o for o in owners if isinstance(o, RecentHistory))
    simulated = SimulatedHost("host-0", 1)
    for minute in range(1440):
        at = now - 86400 + 60 * minute
        recent.observe(simulated.next_report(at), at)
    return collector.asgi, "host-0"


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wk-console-") as tmp:
        app, host = build(Path(tmp), args.hosts, args.incidents)
        pages = {
            "overview": "/",
            "incident list": "/incidents?state=all",
            "host page": f"/hosts/{host}",
        }
        figures = {name: _timed(app, path, args.repeats) for name, path in pages.items()}
        figures["overview weight"] = _weight(app)
    print(f"console: {args.hosts} hosts, {args.incidents} incidents "
          f"({args.incidents // OPEN_EVERY} open), {args.repeats} requests per page")  # fmt: skip
    for part, values in figures.items():
        print(f"  {part}")
        for name, value in values.items():
            print(f"    {name:<24}{value:>14,.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
