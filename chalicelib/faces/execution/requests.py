"""The execution face's request bodies and queries (the strategy body is the engine's definition)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct


class ExecutionInstanceBody(Struct, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """`POST /execution-instance`: a subscription of a strategy."""

    #: The strategy's name or sid.
    strategy_id: Annotated[str, Meta(min_length=1, max_length=256)]
    #: When cycle 1 starts (ISO 8601 with an offset); default: now.
    start_date: Annotated[str, Meta(max_length=64)] | None = None
    attributes: dict[str, Any] | None = None
    description: Annotated[str, Meta(max_length=2048)] | None = None
    #: Pin an older version (default: the latest).
    strategy_version: Annotated[int, Meta(ge=1)] | None = None


class ExecutionCancelTasksQuery(Struct, kw_only=True, forbid_unknown_fields=True):
    """`?tasks=a,b`: the task keys whose waiting events to cancel."""

    tasks: Annotated[str, Meta(min_length=1, max_length=4096)]
