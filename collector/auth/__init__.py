"""Who may do what: agent tokens, users, roles, sessions, API tokens and the audit log."""

from collector.auth.agents import AgentIdentity, TokenBook

__all__ = ["AgentIdentity", "TokenBook"]
