"""The hardware inventory file: each host's model, serial and purchase, warranty and
end-of-support dates, read once into frozen models (file:line errors).

The hardware the probes identify (reports.seen) is joined in reports made by the collector;
the dates come only from this file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.configfile import load_yaml_file
from rules.loader import RuleLoadError, validation_errors


class InventoryModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class HostInventory(InventoryModel):
    """One server as bought: what it is and until when it is covered."""

    model: str = Field("", description="Vendor and model, e.g. 'Dell PowerEdge R740'.")
    serial: str = Field("", description="Serial number or service tag.")
    purchased: dt.date | None = Field(None, description="Purchase date, e.g. 2021-03-01.")
    warranty_end: dt.date | None = Field(None, description="Last day of the warranty.")
    support_end: dt.date | None = Field(
        None, description="Last day the vendor supports it (end of support / end of life)."
    )
    customer: str | None = Field(None, description="The customer it belongs to, if any.")


class Inventory(InventoryModel):
    """Every host's entry, by host name."""

    hosts: dict[str, HostInventory] = Field(
        default_factory=dict, description="Host name: its inventory entry."
    )

    def of(self, host: str) -> HostInventory | None:
        """The host's entry, if it has one."""
        return self.hosts.get(host)


def load_inventory(path: Path) -> Inventory:
    """Read the inventory file; every problem raised as one RuleLoadError with file:line."""
    document = load_yaml_file(path)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise RuleLoadError([document.error((), "the inventory file is a mapping: hosts:")])
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, Inventory)) from exc
