"""IPMI: BMC sensors, health summary and System Event Log, over the LAN or in-band.

Modules: `settings` (config structs), `ipmitool` (the sensor model and `ipmitool` output
parsers), `sensors` (readings -> samples, shared with Redfish), `session` (pyghmi and
ipmitool clients, the deadline, SEL bookkeeping), `probe` (the probe and its builder).
pyghmi is imported only when a BMC is read.
"""
