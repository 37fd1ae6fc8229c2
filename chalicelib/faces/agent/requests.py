"""The agent face's request bodies and queries, declared once (seed 001).

The scraped page lost most request bodies; FACES.md names the fields tasklane takes where it
did (`lease_seconds`, `wait_seconds`, `approval_policy`, ...), and every other field carries the
name of the matching response field (`metadata`, `origin`, `result`, `error`, `reason`).
Each model validates its request (errors at `body.<key>` / `query.<parameter>`) and is its
schema in `/openapi.json`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

Priority = Literal["low", "medium", "high", "urgent"]
Scope = Literal["global", "workspace"]
TaskStatusName = Literal["draft", "pending", "blocked", "ready", "in_progress", "completed", "failed", "canceled"]
RunStatusName = Literal["queued", "claimed", "starting", "running", "completed", "failed", "canceled"]
OwnerKind = Literal["human", "agent_session", "automation", "extension", "network_peer", "pool"]
OriginKind = Literal["cli", "web", "uds", "http", "automation", "extension", "network", "agent_session", "daemon"]
ApprovalStateName = Literal["not_required", "pending", "approved", "rejected"]
#: One lease: 1 second to 24 hours (default 5 minutes).
LeaseSeconds = Annotated[int, Meta(ge=1, le=86_400, description="lease length in seconds (default 300)")]
Title = Annotated[str, Meta(min_length=1, max_length=500)]
Ref = Annotated[str, Meta(min_length=1, max_length=200)]
Key = Annotated[str, Meta(min_length=1, max_length=200, description="a retried call with the same key "
                                                                     "answers the first result")]


class AgentOrigin(Struct, forbid_unknown_fields=True):
    """Where a task or run came from."""

    kind: OriginKind
    ref: Annotated[str, Meta(max_length=200)] | None = None


class AgentTaskCreateBody(Struct, forbid_unknown_fields=True):
    """`POST /api/tasks` and `POST /api/tasks/{id}/children`. The owner is the caller (token)."""

    scope: Scope
    title: Title
    description: Annotated[str, Meta(max_length=20_000)] | None = None
    workspace_id: Ref | None = None
    network_channel: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^#]+$")] | None = None
    priority: Priority | None = None
    approval_policy: Literal["none", "manual"] | None = None
    max_attempts: Annotated[int, Meta(ge=1, le=10)] | None = None
    draft: bool | None = None
    parent_task_id: Ref | None = None
    metadata: Any = None
    origin: AgentOrigin | None = None


class AgentTaskPatchBody(Struct, forbid_unknown_fields=True):
    """`PATCH /api/tasks/{id}`: the fields given change; `approval_policy` only on a draft."""

    title: Title | None = None
    description: Annotated[str, Meta(max_length=20_000)] | None = None
    scope: Scope | None = None
    workspace_id: Ref | None = None
    network_channel: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^#]+$")] | None = None
    priority: Priority | None = None
    approval_policy: Literal["none", "manual"] | None = None
    max_attempts: Annotated[int, Meta(ge=1, le=10)] | None = None
    metadata: Any = None


class AgentEmptyBody(Struct, forbid_unknown_fields=True):
    """An action that takes no fields (`{}` or no body)."""


class AgentEnqueueBody(Struct, forbid_unknown_fields=True):
    """`POST /api/tasks/{id}/runs` and `/start`: kept with the run."""

    metadata: Any = None
    origin: AgentOrigin | None = None


class AgentDependencyBody(Struct, forbid_unknown_fields=True):
    """`POST /api/tasks/{id}/dependencies` (kind `blocks`)."""

    depends_on_task_id: Ref


class AgentClaimNextBody(Struct, forbid_unknown_fields=True):
    """`POST /api/agent/tasks/claim-next`: all optional; `wait_seconds` holds the request until
    work appears (at most the service's hold cap, 25 s by default)."""

    lease_seconds: LeaseSeconds | None = None
    workspace_id: Ref | None = None
    scope: Scope | None = None
    network_channel: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    wait_seconds: Annotated[float, Meta(ge=0, le=60)] | None = None


class AgentHeartbeatBody(Struct, forbid_unknown_fields=True):
    """`POST /api/agent/tasks/{run_id}/heartbeat`: the lease is extended to now + `lease_seconds`."""

    lease_seconds: LeaseSeconds | None = None


class AgentCompleteBody(Struct, forbid_unknown_fields=True):
    """Complete a run, with any JSON `result`."""

    result: Any = None


class AgentFailBody(Struct, forbid_unknown_fields=True):
    """Fail a run, saying why."""

    error: Annotated[str, Meta(max_length=2000)]


class AgentReleaseBody(Struct, forbid_unknown_fields=True):
    """Give the run back to the queue."""

    reason: Annotated[str, Meta(max_length=2000)] | None = None


class AgentRunClaimBody(Struct, forbid_unknown_fields=True):
    """`POST /api/task-runs/{id}/claim` for the caller's session."""

    idempotency_key: Key | None = None
    lease_seconds: LeaseSeconds | None = None


class AgentRunStartBody(Struct, forbid_unknown_fields=True):
    """`POST /api/task-runs/{id}/start`: the holder moves its run to running."""

    idempotency_key: Key | None = None


class AgentAttachSessionBody(Struct, forbid_unknown_fields=True):
    """`POST /api/task-runs/{id}/attach-session`."""

    session_id: Ref


class AgentTaskListQuery(Struct):
    """`GET /api/tasks`. `cursor` is the `next_cursor` of the previous page."""

    scope: Scope | None = None
    workspace: Ref | None = None
    status: TaskStatusName | None = None
    priority: Priority | None = None
    include_drafts: bool = False
    approval_state: ApprovalStateName | None = None
    owner_kind: OwnerKind | None = None
    owner_ref: Ref | None = None
    parent_task_id: Ref | None = None
    network_channel: Ref | None = None
    query: Annotated[str, Meta(max_length=200)] | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 50
    cursor: Annotated[str, Meta(max_length=2048)] | None = None


class AgentRunListQuery(Struct):
    """`GET /api/tasks/{id}/runs`."""

    status: RunStatusName | None = None
    session_id: Ref | None = None
    limit: Annotated[int, Meta(ge=1, le=500)] = 100


class AgentTimelineQuery(Struct):
    """`GET /api/tasks/{id}/timeline`."""

    after_sequence: Annotated[int, Meta(ge=0)] = 0
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


class AgentStreamQuery(Struct):
    """`GET /api/tasks/{id}/stream`: resume after this sequence (the `Last-Event-ID` header wins)."""

    after_sequence: Annotated[int, Meta(ge=0)] | None = None
