"""Inbox triage over the tasks table: one item per (actor, task), keyed so that one actor's
records are one query (pk = tenant, sk begins with `triage#<actor digest>#`).

The actor is hashed into the key (kind and reference can hold any printable character, the key
separator too); the item keeps both in the clear. A mark is one UpdateItem that sets only the
flags given and answers the item as written, so two marks racing on one record both hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.engine.ports import Triage
from chalicelib.store import metrics
from chalicelib.store.models import TriageItem
from chalicelib.timefmt import from_iso, to_iso

PREFIX = "triage#"


def actor_prefix(actor_kind: str, actor_ref: str) -> str:
    """The sort-key prefix of one actor's triage records."""
    digest = hashlib.sha256(f"{actor_kind}\0{actor_ref}".encode()).hexdigest()[:32]
    return f"{PREFIX}{digest}#"


def _triage(item: TriageItem) -> Triage:
    return Triage(task_id=item.task_id, actor_kind=item.actor_kind, actor_ref=item.actor_ref,
                  read=bool(item.read), dismissed=bool(item.dismissed), archived=bool(item.archived),
                  last_seen_activity_at=from_iso(item.last_seen_activity_at) if item.last_seen_activity_at else None,
                  updated_at=from_iso(item.updated_at))


class DynamoTriageStore:
    """`TriageStore` over the tasks table."""

    def mark_triage(self, tenant: str, actor_kind: str, actor_ref: str, task_id: str, *, now: datetime,
                    last_seen_activity_at: datetime | None, read: bool | None = None,
                    dismissed: bool | None = None, archived: bool | None = None) -> Triage:
        item = TriageItem(tenant, actor_prefix(actor_kind, actor_ref) + task_id)
        actions: list[Any] = [TriageItem.task_id.set(task_id), TriageItem.actor_kind.set(actor_kind),
                              TriageItem.actor_ref.set(actor_ref), TriageItem.updated_at.set(to_iso(now))]
        for attribute, value in ((TriageItem.read, read), (TriageItem.dismissed, dismissed),
                                 (TriageItem.archived, archived)):
            if value is not None:
                actions.append(attribute.set(value))
        if last_seen_activity_at is not None:
            actions.append(TriageItem.last_seen_activity_at.set(to_iso(last_seen_activity_at)))
        item.update(actions=actions)  # answers every attribute as written: no second read
        return _triage(item)

    def triage_of_actor(self, tenant: str, actor_kind: str, actor_ref: str) -> Iterator[Triage]:
        for item in TriageItem.query(tenant, TriageItem.sk.startswith(actor_prefix(actor_kind, actor_ref))):
            metrics.count_read()
            yield _triage(item)
