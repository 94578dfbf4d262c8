"""The web console: server-rendered pages over the same state the API serves."""
