"""The daemon face's request bodies and queries, declared once (seeds 002 and 003).

Each model validates its request (`request_models.decode`, errors at `body.<key>` or
`query.<parameter>`) and is its schema in `/openapi.json`. A definition file's tables are
validated by the same `DaemonTaskDefinition`, so a file and a PUT body accept exactly the same keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

Backoff = Literal["constant", "linear", "exponential"]
#: A duration: nanoseconds (the API's unit) or text such as `1h30m` (checked by `units`).
Duration = Annotated[int | str, Meta(description="nanoseconds, or text such as '1h30m'")]


class DaemonParam(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One declared parameter; exactly one of `env`, `arg`, `option`, `flag` says how its value
    reaches the command (checked by `params`: a rule across fields)."""

    env: str | None = None
    arg: str | None = None
    option: str | None = None
    flag: str | None = None
    default: str | int | float | bool | None = None
    required: bool | None = None
    type: Literal["string", "number"] | None = None
    choices: list[str | int | float] | None = None
    allow_custom: bool | None = None
    description: str | None = None


class DaemonTaskDefinition(Struct, forbid_unknown_fields=True):
    """A task or service definition (PUT body or a `runwisp.toml` table). `max_concurrent` and
    `max_queued` are taken for `parallelism` and `queue_max`, `kill` for `terminate`; the
    read-only keys of a GET answer (`name`, `next_run_at`, `$schema`) are ignored."""

    run: Annotated[str, Meta(min_length=1, description="the command, run by `shell -e -c`")]
    kind: Literal["task", "service"] | None = None
    shell: str | None = None
    working_dir: str | None = None
    env: dict[str, str | int | float] | None = None
    secrets: Annotated[dict[str, str | int | float], Meta(description="never returned")] | None = None
    description: str | None = None
    group: str | None = None
    cron: str | None = None
    timezone: str | None = None
    manual_trigger: bool | None = None
    api_trigger: bool | None = None
    run_on_start: bool | None = None
    catch_up: Literal["latest", "all", "skip"] | None = None
    max_catch_up_runs: Annotated[int, Meta(ge=0, le=100)] | None = None
    parallelism: Annotated[int, Meta(ge=1, le=1000)] | None = None
    on_overlap: Literal["queue", "skip", "terminate"] | None = None
    queue_max: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    timeout: Duration | None = None
    graceful_stop: Duration | None = None
    retry_attempts: Annotated[int, Meta(ge=0, le=100)] | None = None
    retry_delay: Duration | None = None
    retry_backoff: Backoff | None = None
    log_max_size: Annotated[int | str, Meta(description="bytes, or text such as '500mb'")] | None = None
    log_on_full: Literal["drop_new", "drop_old", "kill_task"] | None = None
    keep_runs: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    keep_for: Duration | None = None
    instances: Annotated[int, Meta(ge=1, le=64)] | None = None
    restart: Literal["never", "always", "on_failure"] | None = None
    restart_delay: Duration | None = None
    restart_backoff: Backoff | None = None
    params: list[DaemonParam] | dict[str, DaemonParam] | None = None


class DaemonRunRequest(Struct):
    """`POST .../run`: values of declared parameters (null omits one, overriding its default)."""

    params: dict[str, Any] | None = None


class DaemonTriggerQuery(Struct):
    """`POST .../run?wait=true&wait_timeout=60`."""

    wait: bool = False
    wait_timeout: Annotated[int, Meta(ge=1, le=3600, description="seconds")] = 300


class DaemonRunListQuery(Struct):
    """Run-list filters and window."""

    status: Annotated[str, Meta(description="comma list of phases (pending, running, ended) or end reasons")] | None \
        = None
    triggered_by: Annotated[str, Meta(description="comma list of cron, api, cloud, service, startup")] | None = None
    since: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None = None
    until: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 50
    offset: Annotated[int, Meta(ge=0, le=10_000_000)] = 0


#: Most log lines one read returns.
MAX_LOG_LINES = 10_000


class DaemonLogQuery(Struct, rename={"start": "from"}):
    """`GET .../log`: a negative `from` counts back from the end."""

    start: Annotated[int, Meta(ge=-MAX_LOG_LINES, le=10**9)] = 1
    limit: Annotated[int, Meta(ge=1, le=MAX_LOG_LINES)] = 1000


class DaemonRawLogQuery(Struct, rename={"start": "from"}):
    """`GET .../log/raw`: the first line to send."""

    start: Annotated[int, Meta(ge=1, le=10**12)] = 1


class DaemonStreamQuery(Struct):
    """`GET .../log/stream`: resume after this line (the `Last-Event-ID` header wins)."""

    last_event_id: Annotated[str, Meta(description="a line number")] | None = None
