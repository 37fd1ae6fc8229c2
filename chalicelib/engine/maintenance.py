"""The maintenance role: retention sweeps, stuck runs, service instances."""

from __future__ import annotations

from datetime import datetime


def run_maintenance(now: datetime) -> dict:
    """One maintenance pass; returns counts of what it did."""
    return {"swept_runs": 0}
