"""Incidents: what they are, how they move between states, and their history."""
