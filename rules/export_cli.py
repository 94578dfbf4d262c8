"""`watchkeeper rules export --format prometheus [PATH...]`: the rules as a Prometheus file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rules.export import export_rules
from rules.loader import RuleLoadError, load_rules


def export_command(argv: Sequence[str]) -> int:
    """Write the alerting-rules file (stdout or --output); list the rules left out on stderr."""
    parser = argparse.ArgumentParser(
        prog="watchkeeper rules export",
        description="Turn the built-in packs and the given rule files into a Prometheus "
        "alerting-rules file over the collector's /metrics names.",
    )
    parser.add_argument("--format", choices=["prometheus"], required=True)
    parser.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    parser.add_argument("--no-builtin", action="store_true", help="leave the built-in packs out")
    parser.add_argument("paths", type=Path, nargs="*", help="rule files or folders")
    args = parser.parse_args(list(argv))
    try:
        rules = load_rules(args.paths, include_builtin=not args.no_builtin)
    except RuleLoadError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    exported = export_rules(rules.rules)
    if args.output is None:
        sys.stdout.write(exported.text())
    else:
        args.output.write_text(exported.text())
    for skipped in exported.skipped:
        print(f"not exported: {skipped.name}: {skipped.reason}", file=sys.stderr)
    return 0
