"""Which due-index partition a task lands in, the same for the DynamoDB store and its twin."""

from __future__ import annotations

import hashlib


def due_shard(tenant: str, task_id: str, shards: int) -> str:
    """The due-index partition of a task: a stable hash, so load spreads over `shards` keys."""
    digest = hashlib.sha256(f"{tenant}#{task_id}".encode()).digest()
    return str(int.from_bytes(digest[:4], "big") % shards)
