"""Settings, read from the environment once per process.

Every resource name comes from an environment variable that `template.yaml` (deployed) or the
local runtime (embedded) sets. Nothing here talks to AWS at import; the one read is deployed: when
`TASKLANE_JWT_SECRET_NAME` names the token secret, the first `current()` of a process (a Lambda
cold start) reads it from Secrets Manager, and the settings keep it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What this process needs to know about its surroundings."""

    #: Deployment stage (`local`, `dev`, `prod`); names the runs queue.
    stage: str = "dev"
    #: AWS region for every client.
    region: str = "us-east-1"
    #: An AWS-compatible endpoint (the embedded moto server); None means real AWS.
    endpoint_url: str | None = None
    tasks_table: str = "tasklane-tasks"
    runs_table: str = "tasklane-runs"
    events_table: str = "tasklane-events"
    runs_queue_url: str = ""
    dead_letter_queue_url: str = ""
    log_bucket: str = "tasklane-run-logs"
    #: HS256 secret for bearer tokens. Never logged.
    jwt_secret: str = field(default="", repr=False)
    #: Key that signs pagination cursors; derived from the JWT secret when unset.
    cursor_secret: str = field(default="", repr=False)
    #: How many partitions the due-trigger index is spread over.
    due_shards: int = 16
    #: How many partitions the queued-run index is spread over.
    queue_shards: int = 8
    #: The dispatcher's look-ahead window in seconds.
    lookahead_seconds: int = 60
    #: A tick more overdue than this many seconds is a gap (downtime): recorded `missed` and
    #: caught up per the task's policy, instead of fired late.
    missed_grace_seconds: float = 90.0
    #: Longest a request may be held open (wait=true, SSE, claim wait), seconds.
    max_hold_seconds: float = 25.0
    #: A run's log cap in bytes when its task sets none (0: unlimited).
    log_max_size: int = 10 * 1024 * 1024
    #: Held requests (daemon `wait=true` runs, log streams) at once per tenant / in all, per process.
    held_per_tenant: int = 8
    held_total: int = 64
    #: Scheduling face: disable a task after this many consecutive failed runs (0: never).
    disable_after_failures: int = 5
    #: Scheduling face rate tier 1 (reads), requests per user per minute; 0 turns it off.
    rate_tier1: int = 1000
    #: Scheduling face rate tier 2 (writes and starts), requests per user per minute; 0: off.
    rate_tier2: int = 100
    #: Tenants allowed to run commands: a comma list, `*` for every tenant, empty for none.
    command_tenants: str = ""
    #: Where commands run: `local` (a subprocess of this process) or `lambda` (the command function).
    command_runner: str = "local"
    #: The command function's name (with `command_runner = lambda`).
    command_function: str = ""
    #: The user commands run as when the service runs as root (`root` keeps root).
    command_user: str = "nobody"
    #: Days a task event is kept (the events table's TTL); 0: kept for ever.
    event_retention_days: int = 30

    @property
    def runs_queue_name(self) -> str:
        """The runs queue's name: fixed per stage, see template.yaml."""
        return runs_queue_name(self.stage)


def runs_queue_name(stage: str) -> str:
    """The runs queue's name for a stage (the template names it the same way)."""
    return f"tasklane-{stage}-runs"


def load_settings() -> Settings:
    """Build settings from the current environment."""
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint_url = env.get("TASKLANE_AWS_ENDPOINT") or None
    jwt_secret = env.get("TASKLANE_JWT_SECRET", "")
    if not jwt_secret and env.get("TASKLANE_JWT_SECRET_NAME"):
        from chalicelib.secret_store import read_secret

        jwt_secret = read_secret(env["TASKLANE_JWT_SECRET_NAME"], region=region, endpoint_url=endpoint_url)
    return Settings(
        stage=env.get("TASKLANE_STAGE", "dev"),
        region=region,
        endpoint_url=endpoint_url,
        tasks_table=env.get("TASKLANE_TASKS_TABLE", "tasklane-tasks"),
        runs_table=env.get("TASKLANE_RUNS_TABLE", "tasklane-runs"),
        events_table=env.get("TASKLANE_EVENTS_TABLE", "tasklane-events"),
        runs_queue_url=env.get("TASKLANE_RUNS_QUEUE_URL", ""),
        dead_letter_queue_url=env.get("TASKLANE_DEAD_LETTER_QUEUE_URL", ""),
        log_bucket=env.get("TASKLANE_LOG_BUCKET", "tasklane-run-logs"),
        jwt_secret=jwt_secret,
        cursor_secret=env.get("TASKLANE_CURSOR_SECRET") or jwt_secret,
        due_shards=_int("TASKLANE_DUE_SHARDS", 16),
        queue_shards=_int("TASKLANE_QUEUE_SHARDS", 8),
        lookahead_seconds=_int("TASKLANE_LOOKAHEAD_SECONDS", 60),
        missed_grace_seconds=float(env.get("TASKLANE_MISSED_GRACE_SECONDS") or 90),
        max_hold_seconds=float(env.get("TASKLANE_MAX_HOLD_SECONDS", "25")),
        log_max_size=_int("TASKLANE_LOG_MAX_SIZE", 10 * 1024 * 1024),
        held_per_tenant=_int("TASKLANE_HELD_PER_TENANT", 8),
        held_total=_int("TASKLANE_HELD_TOTAL", 64),
        disable_after_failures=_int("TASKLANE_DISABLE_AFTER_FAILURES", 5),
        rate_tier1=_int("TASKLANE_RATE_TIER1", 1000),
        rate_tier2=_int("TASKLANE_RATE_TIER2", 100),
        command_tenants=env.get("TASKLANE_COMMAND_TENANTS", ""),
        command_runner=env.get("TASKLANE_COMMAND_RUNNER", "local") or "local",
        command_function=env.get("TASKLANE_COMMAND_FUNCTION", ""),
        command_user=env.get("TASKLANE_COMMAND_USER", "nobody"),
        event_retention_days=_int("TASKLANE_EVENT_RETENTION_DAYS", 30),
    )


@lru_cache(maxsize=1)
def current() -> Settings:
    """The process's settings, read once (tests call `reset()` after changing the env).

    A failure to read the token secret is not cached: the next call tries again.
    """
    return load_settings()


def reset() -> None:
    """Forget cached settings so the next `current()` reads the environment again."""
    current.cache_clear()
