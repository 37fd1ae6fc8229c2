"""Typed access to the execution documents: strategies, instances, events, queue, pointers.

The record layout (kinds and keys of the `ExecutionRecords` port), in one place:

| kind | key | holds |
| --- | --- | --- |
| `strategy` | `<strategy sid>#<version, 10 digits>` | one `StoredStrategy` version |
| `strategy-name` | the strategy's name | `{"sid"}`: names are unique in a tenant |
| `instance` | instance sid | the `Instance` |
| `event#<instance sid>` | event sid | the instance's `Event`s |
| `event-ref` | event sid | `{"instanceSid"}`: an event found from its sid alone |
| `parked` | `<instance sid>#<event sid>` | events that fell due while the queue was paused |
| `queue` | `state` | the tenant's `QueueState` |
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from chalicelib.engine import backend
from chalicelib.engine.execution.values import Event, Instance, QueueState, StoredStrategy, decode, encode
from chalicelib.errors import Conflict, NotFound

STRATEGY = "strategy"
STRATEGY_NAME = "strategy-name"
INSTANCE = "instance"
EVENT_REF = "event-ref"
PARKED = "parked"
QUEUE = "queue"


def events_kind(instance_sid: str) -> str:
    """The kind under which an instance's events are kept."""
    return f"event#{instance_sid}"


def strategy_key(sid: str, version: int) -> str:
    return f"{sid}#{version:010d}"


def _put(tenant: str, kind: str, key: str, data: dict[str, Any], revision: int) -> int:
    written = backend.current().execution.put_record(tenant, kind, key, data, expected_revision=revision)
    if written is None:
        raise Conflict(f"{kind} {key} was changed concurrently; read it again")
    return written


# -- strategies -------------------------------------------------------------------------------


def strategy_sid_for_name(tenant: str, name: str) -> str | None:
    found = backend.current().execution.get_record(tenant, STRATEGY_NAME, name)
    return None if found is None else str(found[0]["sid"])


def claim_strategy_name(tenant: str, name: str, sid: str) -> bool:
    """Reserve `name` for the strategy `sid`; False when another strategy holds it."""
    written = backend.current().execution.put_record(tenant, STRATEGY_NAME, name, {"sid": sid}, expected_revision=0)
    return written is not None or strategy_sid_for_name(tenant, name) == sid


def create_strategy_version(tenant: str, strategy: StoredStrategy) -> StoredStrategy | None:
    """Store a new version; None when that version exists already."""
    written = backend.current().execution.put_record(
        tenant, STRATEGY, strategy_key(strategy.sid, strategy.version), encode(strategy), expected_revision=0)
    return None if written is None else decode(StoredStrategy, encode(strategy), written)


def strategy_versions(tenant: str, sid: str) -> Iterator[StoredStrategy]:
    """Every version of a strategy, oldest first."""
    for _, data, revision in backend.current().execution.list_records(tenant, STRATEGY, prefix=f"{sid}#"):
        yield decode(StoredStrategy, data, revision)


def latest_strategy(tenant: str, sid: str) -> StoredStrategy | None:
    newest = deque(strategy_versions(tenant, sid), maxlen=1)  # versions come oldest first
    return newest[0] if newest else None


def get_strategy(tenant: str, sid: str, version: int) -> StoredStrategy:
    found = backend.current().execution.get_record(tenant, STRATEGY, strategy_key(sid, version))
    if found is None:
        raise NotFound(f"strategy {sid} version {version} not found")
    return decode(StoredStrategy, *found)


def latest_strategies(tenant: str) -> Iterator[StoredStrategy]:
    """The newest version of every strategy of the tenant."""
    for _, data, _revision in backend.current().execution.list_records(tenant, STRATEGY_NAME):
        strategy = latest_strategy(tenant, str(data["sid"]))
        if strategy is not None:
            yield strategy


# -- instances and events -----------------------------------------------------------------------


def get_instance(tenant: str, sid: str) -> Instance:
    found = backend.current().execution.get_record(tenant, INSTANCE, sid)
    if found is None:
        raise NotFound(f"execution instance {sid} not found")
    return decode(Instance, *found)


def save_instance(tenant: str, instance: Instance) -> Instance:
    """Write the instance at the revision it was read (0: new); `Conflict` if someone else did."""
    revision = _put(tenant, INSTANCE, instance.sid, encode(instance), instance.revision)
    return decode(Instance, encode(instance), revision)


def get_event(tenant: str, instance_sid: str, event_sid: str) -> Event:
    found = backend.current().execution.get_record(tenant, events_kind(instance_sid), event_sid)
    if found is None:
        raise NotFound(f"execution event {event_sid} not found")
    return decode(Event, *found)


def find_event(tenant: str, event_sid: str) -> Event:
    """An event from its sid alone (through its `event-ref` pointer); `NotFound` otherwise."""
    ref = backend.current().execution.get_record(tenant, EVENT_REF, event_sid)
    if ref is None:
        raise NotFound(f"execution event {event_sid} not found")
    return get_event(tenant, str(ref[0]["instanceSid"]), event_sid)


def save_event(tenant: str, event: Event) -> Event:
    """Write the event at the revision it was read (0: new, with its pointer); `Conflict` if
    someone else changed it meanwhile."""
    if event.revision == 0:
        backend.current().execution.put_record(tenant, EVENT_REF, event.sid, {"instanceSid": event.instance_sid},
                                               expected_revision=0)
    revision = _put(tenant, events_kind(event.instance_sid), event.sid, encode(event), event.revision)
    return decode(Event, encode(event), revision)


def try_save_event(tenant: str, event: Event) -> Event | None:
    """`save_event`, None instead of `Conflict` (a lost race is an expected outcome)."""
    try:
        return save_event(tenant, event)
    except Conflict:
        return None


def list_events(tenant: str, instance_sid: str) -> list[Event]:
    """Every event of an instance, by date then sid."""
    events = [decode(Event, data, revision)
              for _, data, revision in backend.current().execution.list_records(tenant, events_kind(instance_sid))]
    return sorted(events, key=lambda e: (e.date, e.sid))


# -- the tenant's queue ---------------------------------------------------------------------------


def queue_state(tenant: str) -> QueueState:
    found = backend.current().execution.get_record(tenant, QUEUE, "state")
    return QueueState() if found is None else decode(QueueState, *found)


def save_queue_state(tenant: str, state: QueueState) -> QueueState:
    revision = _put(tenant, QUEUE, "state", encode(state), state.revision)
    return decode(QueueState, encode(state), revision)


def park(tenant: str, event: Event) -> None:
    """Remember an event that fell due while the queue was paused."""
    backend.current().execution.put_record(tenant, PARKED, f"{event.instance_sid}#{event.sid}", {},
                                           expected_revision=0)


def parked(tenant: str) -> list[tuple[str, str]]:
    """(instance sid, event sid) of every parked event."""
    return [tuple(key.split("#", 1))  # type: ignore[misc]
            for key, _, _ in backend.current().execution.list_records(tenant, PARKED)]


def unpark(tenant: str, instance_sid: str, event_sid: str) -> None:
    backend.current().execution.delete_record(tenant, PARKED, f"{instance_sid}#{event_sid}")
