"""Secrets in agent settings: given inline, by `<name>_file` or by `<name>_env`, never shown.

A setting such as `community` has two siblings, `community_file` (a file whose first line is
the secret) and `community_env` (the name of an environment variable holding it); at most one
of the three is set. Files and variables are read when the secret is used, not when the config
is loaded, so a rotated password is picked up without a restart and `config check` reads no
secret. The value travels as a `Secret`, whose repr is masked; `reveal()` is the one way out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


class Secret:
    """A value that must never appear in logs, reprs or errors; `reveal()` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class SecretError(ValueError):
    """A secret that could not be read; the message names its source, never its value."""


def decode_secret(kind: type, value: Any) -> Any:
    """msgspec `dec_hook`: a YAML string becomes a Secret."""
    if kind is Secret:
        if isinstance(value, str):
            return Secret(value)
        raise ValueError(f"Expected `str`, got `{type(value).__name__}`")
    raise NotImplementedError(kind)


def convert(data: Any, kind: type[T]) -> T:
    """msgspec.convert for settings that hold secrets."""
    return msgspec.convert(data, kind, dec_hook=decode_secret)


@dataclass(frozen=True)
class SecretSource:
    """Where one secret comes from: inline, the first line of a file, or a variable."""

    name: str
    inline: Secret | None = None
    file: str | None = None
    env: str | None = None

    @property
    def given(self) -> bool:
        """Whether any of the three was set."""
        return bool(self.inline) or self.file is not None or self.env is not None

    def read(self, environ: Mapping[str, str] = os.environ) -> Secret:
        """The secret now; SecretError names the file or variable that could not be read."""
        if self.file is not None:
            try:
                text = Path(self.file).read_text(encoding="utf-8")
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise SecretError(f"cannot read {self.name}_file {self.file}: {reason}") from exc
            return Secret(text.splitlines()[0] if text else "")
        if self.env is not None:
            value = environ.get(self.env)
            if not value:
                raise SecretError(f"{self.name}_env: environment variable {self.env} is not set")
            return Secret(value)
        return self.inline or Secret("")

    def read_or_none(self) -> Secret | None:
        """The secret if it can be read now, for scrubbing error texts of it."""
        try:
            return self.read()
        except SecretError:
            return None


def describe_source(source: SecretSource) -> str:
    """Where the secret is configured, for advice: "`password_file` /etc/wk/bmc.pw"."""
    if source.file is not None:
        return f"`{source.name}_file` {source.file}"
    if source.env is not None:
        return f"`{source.name}_env` {source.env}"
    return f"`{source.name}`"


def secret_source(settings: msgspec.Struct, name: str) -> SecretSource:
    """The source of the secret `name` of a settings struct with `name`, `name_file`, `name_env`."""
    inline = getattr(settings, name)
    return SecretSource(
        name,
        inline if isinstance(inline, Secret) else None,
        getattr(settings, f"{name}_file"),
        getattr(settings, f"{name}_env"),
    )


def check_one_source(settings: msgspec.Struct, name: str) -> None:
    """Raise ValueError when more than one of `name`, `name_file`, `name_env` is set."""
    given = [
        field
        for field in (name, f"{name}_file", f"{name}_env")
        if getattr(settings, field) not in (None, "") and getattr(settings, field) != Secret("")
    ]
    if len(given) > 1:
        named = [f"`{field}`" for field in given]
        raise ValueError(f"set only one of {', '.join(named[:-1])} and {named[-1]}")
