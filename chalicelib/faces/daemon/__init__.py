"""Daemon face: the RunWisp API under /daemon (seeds 002 and 003)."""
