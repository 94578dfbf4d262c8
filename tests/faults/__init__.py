"""Fault tests: real collector processes, real peers, real databases, things going wrong."""
