"""SMART: disks found by `smartctl --scan-open`, each read with `smartctl --json`.

Modules: `parse` (smartctl JSON -> samples, pure) and `probe` (settings, scan, per-disk reads).
"""
