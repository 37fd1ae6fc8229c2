"""Run ids: time-ordered, derived from their cause where a cause can repeat."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime


def scheduled_run_id(task_id: str, nominal: datetime, kind: str = "run") -> str:
    """The id of the run of `task_id` for the tick at `nominal`: the same for every dispatcher."""
    millis = int(nominal.timestamp() * 1000)
    digest = hashlib.sha256(f"{task_id}|{kind}|{millis}".encode()).hexdigest()[:12]
    return f"{millis:013d}-{digest}"


def fresh_run_id(now: datetime) -> str:
    """A new time-ordered run id for a manual trigger, retry or restart."""
    millis = int(now.timestamp() * 1000)
    return f"{millis:013d}-{os.urandom(6).hex()}"
