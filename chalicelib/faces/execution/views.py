"""The execution face's answers, in the page's shapes (secrets never appear)."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.execution.definition import to_wire
from chalicelib.engine.execution.values import Event, Instance, StoredStrategy, encode

#: Stored fields that are not the page's.
_INSTANCE_PRIVATE = ("strategySid", "strategyVersion")


def strategy_view(strategy: StoredStrategy) -> dict[str, Any]:
    """A strategy version: the secret is never shown (only its hash is stored), credentials
    read `***`, `encryptedSettings` shows its sealed form."""
    view: dict[str, Any] = {"sid": strategy.sid, "name": strategy.name, "version": strategy.version,
                            "settings": to_wire(strategy.settings),
                            "createdAt": encode_instant(strategy.created_at),
                            "updatedAt": encode_instant(strategy.updated_at)}
    if strategy.description is not None:
        view["description"] = strategy.description
    return view


def encode_instant(value: Any) -> Any:
    return to_wire(value)


def instance_view(instance: Instance, strategy: StoredStrategy | None = None) -> dict[str, Any]:
    view = encode(instance)
    for key in _INSTANCE_PRIVATE:
        view.pop(key, None)
    if strategy is not None:
        view["strategy"] = strategy_view(strategy)
    return view


def event_view(event: Event, instance: Instance | None = None) -> dict[str, Any]:
    view = encode(event)
    view.pop("progress", None)
    view["attempt"] = event.attempt
    if instance is not None:
        view["instance"] = instance_view(instance)
    return view
