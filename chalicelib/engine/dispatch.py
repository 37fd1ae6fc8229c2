"""The dispatcher: find due triggers through the sparse, sharded due index."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.settings import Settings
from chalicelib.store.models import TaskItem
from chalicelib.timefmt import to_iso


def dispatch_due(now: datetime, settings: Settings) -> dict:
    """Read every due-index shard for triggers due within the look-ahead window."""
    horizon = to_iso(now + timedelta(seconds=settings.lookahead_seconds))
    due = 0
    for shard in range(settings.due_shards):
        for _ in TaskItem.due_index.query(str(shard), TaskItem.next_fire_at <= horizon):
            due += 1
    return {"due": due}
