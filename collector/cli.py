"""`watchkeeper collector`, `watchkeeper rules check|test` and `watchkeeper up` (all-in-one demo).

Found by the agent's `watchkeeper` command through the "watchkeeper.commands" entry points,
so an agent-only install never imports this module.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.configfile import ConfigError
from collector.config import AgentToken, ApiToken, ChannelConfig, CollectorConfig, load_config
from collector.incidents_cli import DEFAULT_URL
from rules.loader import RuleLoadError, check_rules
from rules.ruletest import run_rule_tests

log = logging.getLogger(__name__)

DEMO_DIR = Path(".watchkeeper")


def collector_parser() -> argparse.ArgumentParser:
    """Flags of `watchkeeper collector`; each overrides the config file."""
    parser = argparse.ArgumentParser(prog="watchkeeper collector", description=__doc__)
    parser.add_argument("--config", type=Path, help="collector YAML file")
    parser.add_argument("--listen", help="HOST:PORT for the API, console and /metrics")
    parser.add_argument("--database", help="SQLAlchemy URL, e.g. sqlite:///wk.db")
    parser.add_argument(
        "--rules",
        type=Path,
        action="append",
        default=[],
        help="extra rule file or folder (repeatable)",
    )
    parser.add_argument(
        "--notify",
        action="append",
        default=[],
        help="notification URL, e.g. mailto://... (repeatable; replaces the file's)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return parser


def collector_command(argv: Sequence[str]) -> int:
    """Run the collector until SIGTERM / Ctrl-C."""
    args = collector_parser().parse_args(list(argv))
    _setup_logging(args.log_level)
    try:
        config = load_config(args.config) if args.config else CollectorConfig()
        config = _apply_flags(config, args)
    except (ConfigError, RuleLoadError) as exc:
        print(exc, file=sys.stderr)
        return 1
    path = args.config

    def reload() -> CollectorConfig:
        return _apply_flags(load_config(path) if path else CollectorConfig(), args)

    return serve(config, args.log_level, reload)


def _apply_flags(config: CollectorConfig, args: argparse.Namespace) -> CollectorConfig:
    update: dict[str, object] = {}
    if args.listen:
        update["listen"] = args.listen
    if args.database:
        update["database"] = args.database
    if args.rules:
        update["rules"] = [*config.rules, *args.rules]
    if args.notify:
        update["notify"] = [ChannelConfig(url=url) for url in args.notify]
    return CollectorConfig.model_validate({**config.model_dump(), **update}) if update else config


def serve(
    config: CollectorConfig,
    log_level: str = "info",
    reload: Callable[[], CollectorConfig] | None = None,
) -> int:
    """Build the collector and serve it with uvicorn; config errors exit 1 with the message."""
    import uvicorn

    from collector.access_cli import first_admin
    from collector.api.server import (
        raise_open_file_limit,
        reload_on_sighup,
        server_options,
        tls_options,
        tls_reloader,
    )
    from collector.app import build_collector
    from collector.store.database import migrate

    try:
        collector = build_collector(config)
        migrate(collector.repository.engine)
        first_admin(collector.access, config, os.environ, sys.stderr)
    except (ConfigError, RuleLoadError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    host, port = config.listen_host_port
    # Each connection is a file descriptor: room for every allowed one, plus the database's.
    raise_open_file_limit(config.limits.max_connections + 1024)
    server_config = uvicorn.Config(
        collector.asgi,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        **server_options(config.limits),
        **tls_options(config.tls),
    )
    # SIGHUP: the certificate, and the tokens from the config file (revoked without a restart).
    on_hangup = [tls_reloader(server_config, config.tls)] if config.tls else []
    if reload is not None:
        on_hangup.append(lambda: collector.reload_tokens(reload()))
    reload_on_sighup(on_hangup)
    uvicorn.Server(server_config).run()
    return 0


def rules_command(argv: Sequence[str]) -> int:
    """`watchkeeper rules check PATH...`, `rules test FILE...`, `rules noise` (API) and
    `rules export --format prometheus`."""
    if list(argv[:1]) == ["noise"]:
        from collector.noise_cli import noise_command  # talks HTTP: imported when used

        return noise_command(argv[1:])
    if list(argv[:1]) == ["export"]:
        from rules.export_cli import export_command

        return export_command(argv[1:])
    parser = argparse.ArgumentParser(prog="watchkeeper rules")
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser(
        "check",
        help="validate rule and override files (with the built-in packs), every problem at once",
    )
    check.add_argument("paths", type=Path, nargs="+")
    test = sub.add_parser("test", help="run rule unit tests: input series, expected incidents")
    test.add_argument("files", type=Path, nargs="+")
    sub.add_parser("noise", help="each rule's noise figure from a collector (noise --help)")
    sub.add_parser("export", help="the rules as a Prometheus rules file (export --help)")
    args = parser.parse_args(list(argv))
    paths: list[Path] = args.paths if args.action == "check" else args.files
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            print(f"{path}: no such file or folder", file=sys.stderr)
        return 1
    return _check_rules(paths) if args.action == "check" else _test_rules(paths)


def _check_rules(paths: list[Path]) -> int:
    """Every error and warning, each `file:line: problem`, the way the collector would see them."""
    result = check_rules(paths)
    warnings = result.user_warnings
    problems = [(e, "") for e in result.errors] + [(w, "warning: ") for w in warnings]
    for problem, kind in sorted(problems, key=lambda p: (p[0].source, p[0].line or 0)):
        where = f"{problem.source}:{problem.line}" if problem.line else problem.source
        print(f"{where}: {kind}{problem.message}", file=sys.stderr)
    if result.errors or warnings:
        print(
            f"FAILED: {len(result.errors)} errors (the collector would refuse to start), "
            f"{len(warnings)} warnings (rules that would load but never match)",
            file=sys.stderr,
        )
        return 1
    rules, overrides = _count(result.user_rules, "rule"), _count(result.overrides, "override")
    print(f"OK: {rules} and {overrides} in {_count(len(result.files), 'file')}")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _test_rules(files: list[Path]) -> int:
    """Run each test file; failures printed like promtool's, exit 1 if any test failed."""
    failed = False
    for file in files:
        try:
            outcome = run_rule_tests(file)
        except (ConfigError, RuleLoadError) as exc:
            errors = exc.errors if isinstance(exc, RuleLoadError) else [exc]
            for error in errors:
                print(error, file=sys.stderr)
            failed = True
            continue
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for failure in outcome.failures:
            print(failure)
        if outcome.failures:
            failed = True
            print(f"{file}: FAILED ({len(outcome.failures)} of {outcome.checks} checks)")
        else:
            print(f"{file}: SUCCESS ({outcome.tests} tests, {outcome.checks} checks)")
    return 1 if failed else 0


def up_command(argv: Sequence[str]) -> int:
    """All-in-one: a collector on 127.0.0.1:9810 (SQLite) plus an agent reporting this host."""
    parser = argparse.ArgumentParser(prog="watchkeeper up", description=up_command.__doc__)
    parser.add_argument("--dir", type=Path, default=DEMO_DIR, help="state folder")
    parser.add_argument("--listen", default="127.0.0.1:9810")
    parser.add_argument("--interval", default="10s", help="agent interval")
    parser.add_argument("--notify", action="append", default=[], help="extra notification URL")
    args = parser.parse_args(list(argv))
    _setup_logging("info")
    state = args.dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    token_file = _demo_token(state / "agent.token")
    api_token_file = _demo_token(state / "api.token")
    url = f"http://{args.listen}"
    outbox = state / "outbox.jsonl"
    channels = [f"outbox://{outbox}", "console://", *args.notify]
    config = CollectorConfig(
        listen=args.listen,
        database=f"sqlite:///{state / 'watchkeeper.db'}",
        notify=[ChannelConfig(url=u) for u in channels],
        agents=[AgentToken(name="local-agent", token_file=token_file)],
        api_tokens=[ApiToken(name="demo-admin", token_file=api_token_file)],
        console_url=url,
    )
    agent_config = state / "agent.yaml"
    agent_config.write_text(
        f"collector: {url}\ntoken_file: {token_file}\ninterval: {args.interval}\n"
        f"spool_dir: {state / 'spool'}\n"
    )
    agent = _AgentWhenReady(url, [*_watchkeeper(), "agent", "--config", str(agent_config)])
    print(_banner(url, outbox, state, api_token_file), flush=True)
    try:
        return serve(config)
    finally:
        agent.stop()


class _AgentWhenReady:
    """The demo's agent, started once the collector answers (its first report then lands at
    once instead of waiting in the spool behind a "collector unreachable" warning)."""

    def __init__(self, url: str, argv: list[str]) -> None:
        self._url, self._argv = url, argv
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._start, name="demo-agent", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        deadline = time.monotonic() + 120
        while not self._stopping.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self._url}/-/healthy", timeout=1):
                    break
            except OSError:
                self._stopping.wait(0.2)
        if not self._stopping.is_set():  # started anyway after the deadline: it spools
            self._process = subprocess.Popen(self._argv)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()


def _demo_token(path: Path) -> Path:
    if not path.exists():
        # Created 0600 from the start: never readable by others, not even for a moment.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
    return path


def _shown(path: Path) -> Path:
    """`path` relative to the working directory when inside it (shorter to copy), else as is."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def _watchkeeper() -> list[str]:
    script = Path(sys.executable).parent / "watchkeeper"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from agent.cli import main; sys.exit(main())"]


def _banner(url: str, outbox: Path, state: Path, api_token: Path) -> str:
    cli_env = f"WATCHKEEPER_TOKEN_FILE={_shown(api_token)}"
    if url != DEFAULT_URL:
        cli_env += f" WATCHKEEPER_URL={url}"
    return "\n".join(
        [
            "",
            "Watchkeeper is up (Ctrl-C stops the collector and the local agent).",
            f"  Console:        {url}/",
            f"  API:            {url}/api/v1/hosts   {url}/api/v1/incidents?state=all",
            f"  Prometheus:     {url}/metrics",
            f"  Notifications:  {outbox} (and this terminal)",
            f"  Incidents CLI:  {cli_env} watchkeeper incidents list",
            f"  State:          {state} (SQLite database, agent and API tokens, spool)",
            "",
        ]
    )


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic lists each of its plugins at INFO on every start; the migrations it runs stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, logging.root.level))
