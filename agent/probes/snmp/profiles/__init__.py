"""SNMP device knowledge as YAML data: which OIDs to read and how each becomes a sample.

A profile lists scalar metrics (one GET each) and tables (columns walked together and joined
by row index). A metric reads the first OID of its list that the device answers, so one
profile covers ifHCInOctets with ifInOctets as the fallback, and maps the raw value with
`enum` (a state string), `true_when` (a 1/0 flag), `scale`, `multiply_by` and `divide_by`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path

import msgspec

from agent.configfile import ConfigError, YamlDocument, load_yaml_file, msgspec_error_path
from agent.report import Sample

PROFILE_DIR = Path(__file__).resolve().parent
Value = int | float | str
Row = Mapping[str, Value]

_OID = re.compile(r"^\d+(\.\d+)+$")
_METRIC_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class MetricSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How one sample is computed from a scalar or a table row.

    metric: sample name. oid: OID or fallback list (first one present wins).
    enum: raw value -> state string (a string sample). true_when: raw values that give 1, else 0.
    string: keep the raw text as a string sample. scale: factor applied to numbers.
    multiply_by: another OID (same row for tables) the number is multiplied by
    (hrStorageUsed × hrStorageAllocationUnits). divide_by: an OID, or a list of OIDs whose sum,
    the number is divided by (used / size; used / (used + avail) like df).
    """

    metric: str
    oid: str | list[str]
    enum: dict[int | str, str] = {}
    true_when: list[int | str] = []
    string: bool = False
    scale: float = 1.0
    multiply_by: str | None = None
    divide_by: str | list[str] | None = None

    @property
    def oids(self) -> list[str]:
        """The source OIDs in order of preference."""
        return [self.oid] if isinstance(self.oid, str) else list(self.oid)

    @property
    def all_oids(self) -> list[str]:
        """Every OID this metric needs read."""
        extra = [self.multiply_by] if self.multiply_by else []
        return self.oids + extra + self.divisors

    @property
    def divisors(self) -> list[str]:
        """The OIDs whose sum divides the value (none: no division)."""
        if self.divide_by is None:
            return []
        return [self.divide_by] if isinstance(self.divide_by, str) else list(self.divide_by)


class LabelSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A label taken from a column of the row (first OID present wins), optionally mapped."""

    oid: str | list[str]
    enum: dict[int | str, str] = {}

    @property
    def oids(self) -> list[str]:
        """The source column OIDs in order of preference."""
        return [self.oid] if isinstance(self.oid, str) else list(self.oid)


class TableSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Columns walked together; one series per row index.

    name: what the rows are (for errors). index_label: label carrying the row index, if any.
    labels: label name -> LabelSpec. metrics: one MetricSpec per sample, OIDs being columns.
    """

    name: str
    metrics: list[MetricSpec]
    labels: dict[str, LabelSpec] = {}
    index_label: str | None = None

    @property
    def columns(self) -> list[str]:
        """Every column OID to walk, without repeats."""
        wanted = [oid for spec in self.labels.values() for oid in spec.oids]
        wanted += [oid for spec in self.metrics for oid in spec.all_oids]
        return list(dict.fromkeys(wanted))


class Profile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A named set of scalars and tables, e.g. `ups_mib`."""

    name: str
    description: str
    scalars: list[MetricSpec] = []
    tables: list[TableSpec] = []

    @property
    def scalar_oids(self) -> list[str]:
        """Every scalar instance OID to GET, without repeats."""
        return list(dict.fromkeys(oid for spec in self.scalars for oid in spec.all_oids))


def builtin_profile_names() -> list[str]:
    """Names of the profiles shipped beside this module."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml") if p.stem != "trap_names")


@functools.cache
def load_profile(name: str) -> Profile:
    """A built-in profile by name; an unknown name is a ConfigError listing the known ones."""
    path = PROFILE_DIR / f"{name}.yaml"
    if name not in builtin_profile_names():
        known = ", ".join(builtin_profile_names())
        raise ConfigError("snmp", None, f"unknown SNMP profile {name!r}; known: {known}")
    return load_profile_file(path)


def load_profile_file(path: Path) -> Profile:
    """Read and validate one profile file; faults come back as ConfigError file:line."""
    doc = load_yaml_file(path)
    try:
        profile = msgspec.convert(doc.data, Profile)
    except msgspec.ValidationError as exc:
        text, where = msgspec_error_path(str(exc))
        raise doc.error(where, text) from exc
    _check_profile(profile, doc)
    return profile


def _check_profile(profile: Profile, doc: YamlDocument) -> None:
    specs = [("scalars", i, s) for i, s in enumerate(profile.scalars)]
    for t, table in enumerate(profile.tables):
        specs += [(f"tables[{t}].metrics", i, s) for i, s in enumerate(table.metrics)]
    for where, index, spec in specs:
        if not _METRIC_NAME.match(spec.metric):
            raise doc.error((where, index), f"metric {spec.metric!r} is not snake_case")
        bad = [oid for oid in spec.all_oids if not _OID.match(oid)]
        if bad:
            raise doc.error((where, index), f"expected numeric OIDs, got {bad[0]!r}")


def metric_value(spec: MetricSpec, row: Row) -> float | str | None:
    """The sample value of `spec` in `row`, or None when the device has no such value."""
    raw = next((row[oid] for oid in spec.oids if oid in row), None)
    if raw is None:
        return None
    if spec.enum:
        return _lookup(spec.enum, raw)
    if spec.true_when:
        return 1.0 if str(raw) in {str(v) for v in spec.true_when} else 0.0
    if spec.string:
        return str(raw)
    number = to_number(raw)
    if number is None:
        return None
    if spec.multiply_by:
        factor = to_number(row.get(spec.multiply_by))
        number = None if factor is None else number * factor
    if spec.divisors and number is not None:
        parts = [to_number(row.get(oid)) for oid in spec.divisors]
        divisor = None if None in parts else sum(p for p in parts if p is not None)
        number = number / divisor if divisor else None  # size 0 (empty swap): no ratio at all
    return None if number is None else number * spec.scale


def to_number(raw: Value | None) -> float | None:
    """A number from an SNMP value; numeric strings (UCD laLoad "0.16") count as numbers."""
    if raw is None or isinstance(raw, int | float):
        return None if raw is None else float(raw)
    try:
        return float(raw)
    except ValueError:
        return None


def scalar_samples(profile: Profile, values: Row) -> list[Sample]:
    """Samples of a profile's scalars from GET results keyed by instance OID."""
    samples = []
    for spec in profile.scalars:
        value = metric_value(spec, values)
        if value is not None:
            samples.append(Sample(spec.metric, value))
    return samples


def table_samples(table: TableSpec, columns: Mapping[str, Mapping[str, Value]]) -> list[Sample]:
    """Samples of a table from walked columns: column OID -> row index -> value."""
    samples = []
    for index, row in sorted(join_rows(columns).items(), key=lambda item: _index_key(item[0])):
        labels = {name: _label(spec, row) for name, spec in table.labels.items()}
        if table.index_label:
            labels[table.index_label] = index
        for spec in table.metrics:
            value = metric_value(spec, row)
            if value is not None:
                samples.append(Sample(spec.metric, value, labels))
    return samples


def join_rows(columns: Mapping[str, Mapping[str, Value]]) -> dict[str, dict[str, Value]]:
    """Column-major walk results -> row index -> {column OID: value}."""
    rows: dict[str, dict[str, Value]] = {}
    for column, cells in columns.items():
        for index, value in cells.items():
            rows.setdefault(index, {})[column] = value
    return rows


def _label(spec: LabelSpec, row: Row) -> str:
    raw = next((row[oid] for oid in spec.oids if oid in row and row[oid] != ""), "")
    return _lookup(spec.enum, raw)


def _lookup(enum: Mapping[int | str, str], raw: Value) -> str:
    """YAML keys may be numbers or strings; device values are compared as text."""
    return next((name for key, name in enum.items() if str(key) == str(raw)), str(raw))


def _index_key(index: str) -> tuple[int, ...]:
    return tuple(int(part) for part in index.split(".") if part.isdecimal())
