"""Every problem of YAML data against a msgspec Struct type at once, not only the first.

msgspec stops at the first wrong value; an operator fixing agent.yaml wants the whole list, and
a misspelt key with the key it probably meant ("did you mean"). The walk follows the struct's
fields: unknown keys are named with the closest known one, each field's value is converted on
its own, and nested structs (the probe sections, SNMP devices) are walked the same way.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from agent.configfile import KeyPath, msgspec_error_path

DecodeHook = Callable[[type, Any], Any]
Problem = tuple[KeyPath, str]


def struct_problems(data: Any, kind: Any, decode: DecodeHook, path: KeyPath = ()) -> list[Problem]:
    """(key path, message) for every value of `data` that `kind` refuses."""
    struct = _struct_of(kind, data)
    if struct is None:
        item = _item_type(kind)
        if item is not None and isinstance(data, list):
            items = [
                p for n, v in enumerate(data) for p in struct_problems(v, item, decode, (*path, n))
            ]
            return items or _convert_problems(data, kind, decode, path)
        return _convert_problems(data, kind, decode, path)
    if not isinstance(data, dict):
        return _convert_problems(data, kind, decode, path)
    fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
    found: list[Problem] = []
    meant: set[str] = set()  # keys a misspelling probably stood for: not also "missing"
    if struct.__struct_config__.forbid_unknown_fields:
        for key in data:
            if str(key) not in fields:
                close = _closest(str(key), sorted(fields))
                meant.update(close)
                found.append(((*path, str(key)), _unknown(str(key), close, sorted(fields))))
    for name, info in fields.items():
        if name in data:
            found += struct_problems(data[name], info.type, decode, (*path, name))
        elif info.required and name not in meant:
            found.append((path, f"missing required key `{name}`"))
    if not found:  # each field is fine alone: what is left concerns them together
        found = _convert_problems(data, struct, decode, path)
    return found


def _struct_of(kind: Any, data: Any) -> type[msgspec.Struct] | None:
    """The Struct type `data` is read as: `kind` itself, or the one struct of a union."""
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        return kind
    if isinstance(data, dict) and typing.get_origin(kind) in (typing.Union, types.UnionType):
        structs = [
            k
            for k in typing.get_args(kind)
            if isinstance(k, type) and issubclass(k, msgspec.Struct)
        ]
        if len(structs) == 1:
            return structs[0]
    return None


def _item_type(kind: Any) -> Any:
    """The item type of a list or homogeneous tuple type, else None."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list and len(args) == 1:
        return args[0]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return args[0]
    return None


def _convert_problems(data: Any, kind: Any, decode: DecodeHook, path: KeyPath) -> list[Problem]:
    try:
        msgspec.convert(data, kind, dec_hook=decode)
    except msgspec.ValidationError as exc:
        message, inner = msgspec_error_path(str(exc))
        return [((*path, *inner), message)]
    return []


def _closest(key: str, known: list[str]) -> list[str]:
    import difflib  # only for a broken config: not in every agent's memory

    return difflib.get_close_matches(key, known, n=1)


def _unknown(key: str, close: list[str], known: list[str]) -> str:
    hint = f"; did you mean `{close[0]}`?" if close else f" (known keys: {', '.join(known)})"
    return f"unknown key `{key}`{hint}"
