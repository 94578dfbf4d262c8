"""`watchkeeper users add|passwd|list|disable` and `watchkeeper tokens add|list|revoke`.

They work on the collector's database directly (like Vault's operator commands), so an admin
locked out of the API can still get back in; every change is written to the audit log as
cli:<login name>.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from agent.configfile import ConfigError, parse_duration
from collector.auth.passwords import WeakPasswordError, generate_password
from collector.auth.roles import Role
from collector.auth.service import AccessError, AccessService
from collector.auth.throttle import LoginLimits, LoginThrottle
from collector.config import CollectorConfig, load_config
from collector.store.access import AccessStore
from collector.store.database import migrate, open_database
from rules.loader import RuleLoadError

ROLES = [r.value for r in Role]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="collector YAML file (for its database)")
    parser.add_argument("--database", help="SQLAlchemy URL (overrides the config file's)")


def _password_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--password-file", type=Path, help="file holding the password")
    group.add_argument("--password-stdin", action="store_true", help="read it from stdin")


def users_parser() -> argparse.ArgumentParser:
    """Flags of `watchkeeper users`."""
    parser = argparse.ArgumentParser(prog="watchkeeper users", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--customer", help="the customer of a role customer user")
    passwd = sub.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("name")
    for each in (add, passwd):
        _password_flags(each)
    disable = sub.add_parser("disable", help="disable a user (ends their sessions)")
    disable.add_argument("name")
    disable.add_argument("--enable", action="store_true", help="enable them again instead")
    listing = sub.add_parser("list", help="list users")
    for each in (add, passwd, disable, listing):
        _common(each)
    return parser


def tokens_parser() -> argparse.ArgumentParser:
    """Flags of `watchkeeper tokens`."""
    parser = argparse.ArgumentParser(prog="watchkeeper tokens", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="issue an API token (printed once)")
    add.add_argument("name", help="who or what uses it, e.g. grafana or ops-bot")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--customer", help="the customer of a role customer token")
    add.add_argument("--expires", help="lifetime, e.g. 90d (default: never)")
    revoke = sub.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("token", help="its id, or its name if only one active token has it")
    listing = sub.add_parser("list", help="list tokens (never the tokens themselves)")
    for each in (add, revoke, listing):
        _common(each)
    return parser


def users_command(argv: Sequence[str]) -> int:
    """Entry point of `watchkeeper users`."""
    args = users_parser().parse_args(list(argv))
    return _run(args, _USER_ACTIONS[args.action])


def tokens_command(argv: Sequence[str]) -> int:
    """Entry point of `watchkeeper tokens`."""
    args = tokens_parser().parse_args(list(argv))
    return _run(args, _TOKEN_ACTIONS[args.action])


Action = Callable[[AccessService, argparse.Namespace, TextIO], str | None]


def _run(args: argparse.Namespace, action: Action) -> int:
    prog = "watchkeeper users" if action in _USER_ACTIONS.values() else "watchkeeper tokens"
    try:
        access = open_access(args.config, args.database)
        done = action(access, args, sys.stdout)
    except (ConfigError, RuleLoadError, AccessError, WeakPasswordError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    if done:
        access.audit(f"cli:{getpass.getuser()}", "cli", "", done, 0)
    return 0


def open_access(config_path: Path | None, database: str | None) -> AccessService:
    """The access service on the configured database, migrated."""
    config = load_config(config_path) if config_path else CollectorConfig()
    engine = open_database(database or config.database)
    migrate(engine)
    throttle = LoginThrottle(LoginLimits(), time.time)
    return AccessService(AccessStore(engine), [], time.time, throttle, 0.0)


def _password(args: argparse.Namespace, out: TextIO, generate: bool) -> str:
    if args.password_file:
        return Path(args.password_file).read_text().splitlines()[0]
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise AccessError("the two passwords differ")
        return first
    if not generate:
        raise AccessError("give --password-file FILE or --password-stdin")
    chosen = generate_password()
    print(f"password (shown once): {chosen}", file=out)
    return chosen


def _user_add(access: AccessService, args: argparse.Namespace, out: TextIO) -> str:
    password = _password(args, out, generate=True)
    access.add_user(args.name, password, Role(args.role), args.customer)
    print(f"user {args.name!r} added with role {args.role}", file=out)
    return f"users add {args.name} --role {args.role}"


def _user_passwd(access: AccessService, args: argparse.Namespace, out: TextIO) -> str:
    access.set_password(args.name, _password(args, out, generate=False))
    print(f"password of {args.name!r} changed; their sessions ended", file=out)
    return f"users passwd {args.name}"


def _user_disable(access: AccessService, args: argparse.Namespace, out: TextIO) -> str:
    access.set_disabled(args.name, not args.enable)
    state = "enabled" if args.enable else "disabled; their sessions ended"
    print(f"user {args.name!r} {state}", file=out)
    return f"users {'enable' if args.enable else 'disable'} {args.name}"


def _user_list(access: AccessService, args: argparse.Namespace, out: TextIO) -> None:
    print(f"{'NAME':<24} {'ROLE':<10} {'CUSTOMER':<16} STATE", file=out)
    for user in access.users():
        state = "disabled" if user.disabled else "active"
        print(f"{user.name:<24} {user.role:<10} {user.customer or '-':<16} {state}", file=out)


def _token_add(access: AccessService, args: argparse.Namespace, out: TextIO) -> str:
    expires = parse_duration(args.expires) if args.expires else None
    creator = f"cli:{getpass.getuser()}"
    token, record = access.issue_token(args.name, Role(args.role), creator, args.customer, expires)
    print(
        f"token {record.id} {args.name!r} (role {args.role}); shown once, store it now:",
        file=sys.stderr,
    )
    print(token, file=out)
    return f"tokens add {args.name} --role {args.role} (id {record.id})"


def _token_revoke(access: AccessService, args: argparse.Namespace, out: TextIO) -> str:
    wanted = args.token
    if wanted.isdecimal():
        token_id = int(wanted)
    else:
        active = [t.id for t in access.tokens() if t.name == wanted and t.revoked_at is None]
        if len(active) != 1:
            raise AccessError(
                f"{len(active)} active tokens are named {wanted!r}; give the id (tokens list)"
            )
        token_id = active[0]
    access.revoke_token(token_id)
    print(f"token {token_id} revoked", file=out)
    return f"tokens revoke {token_id}"


def _token_list(access: AccessService, args: argparse.Namespace, out: TextIO) -> None:
    now = time.time()
    print(f"{'ID':>4} {'NAME':<20} {'ROLE':<10} {'PREFIX':<11} {'STATE':<8} LAST USED", file=out)
    for t in access.tokens():
        expired = t.expires_at is not None and t.expires_at <= now
        state = "revoked" if t.revoked_at else ("expired" if expired else "active")
        used = (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(t.last_used_at))
            if t.last_used_at
            else "never"
        )
        print(f"{t.id:>4} {t.name:<20} {t.role:<10} {t.prefix:<11} {state:<8} {used}", file=out)


_USER_ACTIONS: dict[str, Action] = {
    "add": _user_add,
    "passwd": _user_passwd,
    "disable": _user_disable,
    "list": _user_list,
}
_TOKEN_ACTIONS: dict[str, Action] = {
    "add": _token_add,
    "revoke": _token_revoke,
    "list": _token_list,
}


def first_admin(
    access: AccessService, config: CollectorConfig, environ: Mapping[str, str], out: TextIO
) -> None:
    """On a database without users, create `admin` with the configured password (file, then
    WATCHKEEPER_ADMIN_PASSWORD), or a generated one printed here, once."""
    source = config.access.admin_password_file
    password = source.read_text().splitlines()[0] if source else None
    password = password or environ.get("WATCHKEEPER_ADMIN_PASSWORD") or None
    generated = access.bootstrap_admin(password)
    if generated:
        print(
            f"\nFirst admin created: user 'admin', password: {generated}\n"
            "  (shown this once; change it with `watchkeeper users passwd admin`)\n",
            file=out,
            flush=True,
        )
