"""Noise control: silences and maintenance windows (and, later, grouping and flap damping)."""
