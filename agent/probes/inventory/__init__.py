"""Inventory: what hardware the host is (DMI, the BMC's own identity and FRU data).

Modules: `parse` (DMI files, smartctl, ipmitool and Redfish answers -> InventoryItem, pure) and
`probe` (settings and the probe). Disks are identified by the SMART probe as it reads them.
"""
