"""Evaluation: runs the rule engine on arrival and turns its signals into incident events."""
