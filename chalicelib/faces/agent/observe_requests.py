"""The observe endpoints' queries (AGH Runtime, seed 001), declared once: each validates its
query (errors at `query.<parameter>`) and is its schema in `/openapi.json`."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

Scope = Literal["global", "workspace"]
OwnerKind = Literal["human", "agent_session", "automation", "extension", "network_peer", "pool"]
OriginKind = Literal["cli", "web", "uds", "http", "automation", "extension", "network", "agent_session", "daemon"]
InboxLane = Literal["my_work", "approvals", "failed_runs", "blocked", "archived"]
#: Most inbox items one answer holds.
MAX_INBOX_ITEMS = 500


class ObserveDashboardQuery(Struct):
    """Which tasks the dashboard counts."""

    scope: Annotated[Scope, Meta(description="Filter by task scope")] | None = None
    workspace: Annotated[str, Meta(description="Filter by workspace ID")] | None = None
    owner_kind: Annotated[OwnerKind, Meta(description="Filter by owner kind")] | None = None
    owner_ref: Annotated[str, Meta(description="Filter by owner reference")] | None = None
    network_channel: Annotated[str, Meta(description="Filter by network channel")] | None = None
    origin_kind: Annotated[OriginKind, Meta(description="Filter by task origin kind")] | None = None


class ObserveInboxQuery(Struct):
    """Which inbox items the caller sees."""

    scope: Annotated[Scope, Meta(description="Filter by task scope")] | None = None
    workspace: Annotated[str, Meta(description="Filter by workspace ID")] | None = None
    owner_kind: Annotated[OwnerKind, Meta(description="Filter by owner kind")] | None = None
    owner_ref: Annotated[str, Meta(description="Filter by owner reference")] | None = None
    lane: Annotated[InboxLane, Meta(description="Filter by inbox lane")] | None = None
    unread: Annotated[bool, Meta(description="Return only unread inbox items")] = False
    query: Annotated[str, Meta(max_length=200, description="Filter by task title or identifier")] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_INBOX_ITEMS,
                               description="Maximum number of inbox items to return")] = 50
