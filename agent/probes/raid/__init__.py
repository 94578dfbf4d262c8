"""RAID: md software RAID and the hardware controller tools (storcli/perccli, MegaCli, ssacli).

Each tool is a probe kind of its own (`mdraid`, `storcli`, `megacli`, `ssacli`); the hardware
ones share `hwraid` (the normalised controller / virtual drive / physical drive model and the
metrics every tool emits under the same names, labelled `tool`).
"""
