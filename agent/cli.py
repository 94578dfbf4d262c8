"""The `watchkeeper` command: `agent` here, other sub-commands found through entry points."""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent.configfile import ConfigError
from agent.version import AGENT_VERSION

if TYPE_CHECKING:
    from agent.settings import AgentSettings

COMMANDS_GROUP = "watchkeeper.commands"
COLLECTOR_MISSING = "the collector is not installed: pip install 'watchkeeper[collector]'"
# --once samples CPU times twice this far apart, so its report includes cpu_usage_ratio.
ONCE_CPU_SAMPLE_SECONDS = 0.25

USAGE = """usage: watchkeeper COMMAND [ARGS...]

commands:
  agent       collect this host's health and push it to a collector
  collector   receive reports, evaluate rules, open incidents, notify
  up          all in one: a local collector plus an agent for this machine
  rules       check rule files

`watchkeeper COMMAND --help` describes each command.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `watchkeeper` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="", file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] == "--version":
        print(f"watchkeeper {AGENT_VERSION}")
        return 0
    if args[0] == "agent":
        return agent_command(args[1:])
    return plugin_command(args[0], args[1:])


class _EntryPoint(Protocol):
    name: str

    def load(self) -> Any: ...


def installed_commands() -> list[_EntryPoint]:
    """Sub-commands other packages register under the `watchkeeper.commands` group."""
    from importlib.metadata import entry_points

    return list(entry_points(group=COMMANDS_GROUP))


def plugin_command(
    name: str,
    argv: list[str],
    commands: Callable[[], Sequence[_EntryPoint]] = installed_commands,
) -> int:
    """Run a registered sub-command as `fn(argv) -> int`; exit 2 if it cannot be imported."""
    found = {ep.name: ep for ep in commands()}
    if name not in found:
        known = ", ".join(["agent", *sorted(found)])
        print(f"watchkeeper: unknown command {name!r} (known: {known})", file=sys.stderr)
        return 2
    try:
        command = found[name].load()
    except ImportError as exc:
        print(f"watchkeeper {name}: {COLLECTOR_MISSING} ({exc})", file=sys.stderr)
        return 2
    return int(command(argv))


def agent_parser() -> argparse.ArgumentParser:
    """Options of `watchkeeper agent`; each overrides the same setting in the config file."""
    parser = argparse.ArgumentParser(
        prog="watchkeeper agent",
        description="Collect this host's health every interval and push it to the collector.",
    )
    parser.add_argument("--config", type=Path, help="agent.yaml (see config/agent.example.yaml)")
    parser.add_argument("--collector", metavar="URL", help="collector base URL")
    parser.add_argument("--interval", metavar="DURATION", help="time between cycles, e.g. 10s")
    parser.add_argument("--host", metavar="NAME", help="host name to report (default: hostname)")
    parser.add_argument(
        "--token", help="bearer token (visible in `ps`: prefer token_file in the config)"
    )
    parser.add_argument("--listen", metavar="HOST:PORT", help="serve the agent's own /metrics")
    parser.add_argument("--procfs", metavar="PATH", help="procfs root (default /proc)")
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="default info"
    )
    parser.add_argument(
        "--once", action="store_true", help="print one report as JSON and exit; send nothing"
    )
    return parser


def without_charset_detection() -> None:
    """Keep requests from loading charset_normalizer in the agent process (about 3 MiB RSS).

    requests only uses it to guess the encoding of a response that names none, and falls back
    to UTF-8 without it; the agent reads nothing from the collector but short error messages.
    """
    if "requests" in sys.modules:
        return
    for name in ("charset_normalizer", "chardet"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None = "not installed"
    warnings.filterwarnings("ignore", "Unable to find acceptable character detection")


def agent_command(argv: Sequence[str]) -> int:
    """`watchkeeper agent`: exit 1 with `file:line: message` on a configuration error."""
    args = agent_parser().parse_args(argv)
    without_charset_detection()
    from agent.settings import apply_overrides, load_settings, read_token

    try:
        settings = apply_overrides(
            load_settings(args.config),
            collector=args.collector,
            interval=args.interval,
            host=args.host,
            token=args.token,
            listen=args.listen,
            procfs=args.procfs,
            log_level=args.log_level,
        )
        token = None if args.once else read_token(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.once:
        return print_one_report(settings)
    if settings.collector is None:
        message = "no collector: set `collector` in the config or pass --collector URL"
        print(f"watchkeeper agent: {message}", file=sys.stderr)
        return 1
    from agent.daemon import run_agent

    run_agent(settings, token)
    return 0


def print_one_report(settings: AgentSettings) -> int:
    """Collect one report (after a CPU baseline) and print it as indented JSON."""
    import msgspec

    from agent.daemon import build_runner
    from agent.report import encode_report

    runner = build_runner(settings)
    runner.prime()
    time.sleep(ONCE_CPU_SAMPLE_SECONDS)
    report = runner.run_cycle()
    sys.stdout.buffer.write(msgspec.json.format(encode_report(report), indent=2) + b"\n")
    sys.stdout.flush()
    return 0
