"""PynamoDB models for the three tables declared in template.yaml.

Every partition key starts with the tenant id, so tenant isolation is a property of the keys.
Table names, region and endpoint are bound at run time by `bind()`; nothing connects at import.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.settings import Settings

#: The pseudo-tenant that owns the system's own records (dispatcher heartbeat, ...). Real tenant
#: ids must start with a letter or digit, so they can never collide with it.
SYSTEM_TENANT = "_system"


class DueIndex(GlobalSecondaryIndex["TaskItem"]):
    """Sparse: only tasks with a pending time trigger carry `due_shard`/`next_fire_at`."""

    class Meta:
        index_name = "due"
        projection = KeysOnlyProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    next_fire_at = UnicodeAttribute(range_key=True)


class UpdatedIndex(GlobalSecondaryIndex["TaskItem"]):
    """A face's tasks of one tenant in `updated_at` order, for lists paged by key, not offset."""

    class Meta:
        index_name = "by_update"
        projection = KeysOnlyProjection()

    face_key = UnicodeAttribute(hash_key=True)
    updated_at = UnicodeAttribute(range_key=True)


class TaskItem(Model):
    """A task definition with its trigger state. pk = tenant, sk = "task#<task id>"."""

    class Meta:
        table_name = "tasklane-tasks"
        # Declared, not set: PynamoDB fills both in from its settings, and bind() rebinds them.
        region: str | None
        host: str | None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    task_id = UnicodeAttribute()
    #: Which face owns the task (`scheduling`, `daemon`, `agent`, `execution`).
    face = UnicodeAttribute()
    #: "<tenant>#<face>": the partition of the `by_update` index.
    face_key = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    #: `task` or `service`.
    kind = UnicodeAttribute(default="task")
    enabled = BooleanAttribute(default=True)
    #: The engine's view of the task (executor, policies, trigger), see engine/model.py.
    spec = JSONAttribute(default=dict)
    #: The face's own document, stored as given (after validation).
    document = JSONAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    #: UTC instant of the next nominal fire, fixed-width ISO so it sorts as text.
    next_fire_at = UnicodeAttribute(null=True)
    #: The last nominal fire handled (for catch-up after downtime).
    last_fire_at = UnicodeAttribute(null=True)
    #: Optimistic concurrency: bumped on every definition change.
    revision = NumberAttribute(default=1)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    consecutive_failures = NumberAttribute(default=0)
    disabled_code = UnicodeAttribute(null=True)
    #: Ids of the runs holding a concurrency slot (a conditional ADD keeps it <= parallelism).
    active_runs = UnicodeSetAttribute(null=True)
    #: FIFO of run ids waiting for a slot (overlap policy `queue`).
    # PynamoDB types `of` as the element type itself, so a list of strings declared with its
    # element attribute class needs the value type spelled out.
    waiting: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    #: False: no task subscribes to this one; true (or absent, as on items older than it): one
    #: may. Set before a finish could need it (store/subscriptions.py), never cleared.
    subscribed = BooleanAttribute(null=True)

    due_index = DueIndex()
    updated_index = UpdatedIndex()


class RecordItem(Model):
    """Small per-tenant records in the tasks table: heartbeats, locks, rate windows."""

    class Meta:
        table_name = "tasklane-tasks"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = JSONAttribute(default=dict)
    counter = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class TriageItem(Model):
    """One actor's triage of one agent task, in the tasks table.
    pk = tenant, sk = "triage#<actor digest>#<task id>": one actor's records are one query."""

    class Meta:
        table_name = "tasklane-tasks"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    task_id = UnicodeAttribute()
    actor_kind = UnicodeAttribute()
    actor_ref = UnicodeAttribute()
    read = BooleanAttribute(null=True)
    dismissed = BooleanAttribute(null=True)
    archived = BooleanAttribute(null=True)
    last_seen_activity_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()


class RunByIdIndex(GlobalSecondaryIndex["RunItem"]):
    class Meta:
        index_name = "by_id"
        projection = KeysOnlyProjection()

    run_key = UnicodeAttribute(hash_key=True)


class QueuedIndex(GlobalSecondaryIndex["RunItem"]):
    """Sparse: only queued runs carry `queue_partition`/`queue_rank`."""

    class Meta:
        index_name = "queued"
        projection = KeysOnlyProjection()

    queue_partition = UnicodeAttribute(hash_key=True)
    queue_rank = UnicodeAttribute(range_key=True)


class TenantRunsIndex(GlobalSecondaryIndex["RunItem"]):
    """Every run of a tenant by creation time."""

    class Meta:
        index_name = "tenant_runs"
        projection = AllProjection()

    tenant = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class LeaseIndex(GlobalSecondaryIndex["RunItem"]):
    """Sparse: only running runs carry `lease_shard`/`lease_until`."""

    class Meta:
        index_name = "leases"
        projection = KeysOnlyProjection()

    lease_shard = UnicodeAttribute(hash_key=True)
    lease_until = UnicodeAttribute(range_key=True)


class RunItem(Model):
    """One run of a task. pk = "<tenant>#<task id>", sk = run id (time-ordered)."""

    class Meta:
        table_name = "tasklane-runs"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    run_key = UnicodeAttribute()
    tenant = UnicodeAttribute()
    task_id = UnicodeAttribute()
    created_key = UnicodeAttribute()
    status = UnicodeAttribute()
    end_reason = UnicodeAttribute(null=True)
    exit_code = NumberAttribute(null=True)
    triggered_by = UnicodeAttribute()
    source = UnicodeAttribute(null=True)
    nominal_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    started_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    params = JSONAttribute(null=True)
    retry_attempt = NumberAttribute(default=0)
    retry_of_run_id = UnicodeAttribute(null=True)
    instance_index = NumberAttribute(null=True)
    worker_id = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)
    lease_shard = UnicodeAttribute(null=True)
    stop_requested = BooleanAttribute(default=False)
    detail = UnicodeAttribute(null=True)
    http_status = NumberAttribute(null=True)
    log_lines = NumberAttribute(default=0)
    log_truncated = BooleanAttribute(default=False)
    #: Face-specific extras (scheduling's actionId, agent claim data, ...).
    extra = JSONAttribute(null=True)
    #: Set only while the run is queued (the hash key of the sparse `queued` index).
    queue_partition = UnicodeAttribute(null=True)
    queue_rank = UnicodeAttribute(null=True)
    #: A pull-mode run's queue partition, kept while it is claimed so a requeue restores it.
    queue_home = UnicodeAttribute(null=True)
    #: `sha256:<hex>` of the claim token of a pull-mode run's lease.
    claim_token_hash = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)
    heartbeat_at = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    attached_session = UnicodeAttribute(null=True)
    #: A completed pull-mode run's result, as JSON text (any JSON value, null included).
    result = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)

    by_id = RunByIdIndex()
    queued = QueuedIndex()
    leases = LeaseIndex()
    tenant_runs = TenantRunsIndex()


class EventItem(Model):
    """One event of a stream. pk = "<tenant>#<stream>", sk = sequence number."""

    class Meta:
        table_name = "tasklane-events"

    pk = UnicodeAttribute(hash_key=True)
    sk = NumberAttribute(range_key=True)
    type = UnicodeAttribute()
    at = UnicodeAttribute()
    data = JSONAttribute(default=dict)
    expires_at = NumberAttribute(null=True)


_TABLES: dict[type[Model], str] = {
    TaskItem: "tasks_table",
    RecordItem: "tasks_table",
    TriageItem: "tasks_table",
    RunItem: "runs_table",
    EventItem: "events_table",
}


_bound_to: Settings | None = None

#: Connections each botocore client keeps open. botocore's default is 10, fewer than the runs
#: one local runtime has in flight (32 by default), and a request finding the pool empty opens,
#: then drops, a connection of its own; a Lambda worker (batches of 10) never needs more.
CLIENT_POOL = 64


def bind(settings: Settings) -> None:
    """Point every model at the tables, region and endpoint named by `settings` (again only when
    they are other settings: rebinding drops the models' connections)."""
    global _bound_to
    if _bound_to is settings:
        return
    _bound_to = settings
    for model, attr in _TABLES.items():
        model.Meta.table_name = getattr(settings, attr)
        model.Meta.region = settings.region
        model.Meta.host = settings.endpoint_url
        model.Meta.max_pool_connections = CLIENT_POOL
        # PynamoDB caches a connection per model class; drop it so the new binding applies.
        model._connection = None
    _transaction_connections.clear()


#: Connections for transactions, one per (region, endpoint). A botocore client costs tens of
#: milliseconds to build (it loads the service's JSON model), so it is built once, not per call.
_transaction_connections: dict[tuple[str | None, str | None], Connection] = {}


def transaction_connection() -> Connection:
    """The connection PynamoDB transactions use under the current binding."""
    key = (TaskItem.Meta.region, TaskItem.Meta.host)
    connection = _transaction_connections.get(key)
    if connection is None:
        connection = _transaction_connections.setdefault(key, Connection(
            region=key[0], host=key[1], max_pool_connections=CLIENT_POOL))
    return connection
