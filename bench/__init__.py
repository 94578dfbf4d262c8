"""Benchmarks (not timed tests): `python -m bench` prints the figures recorded in the README."""
