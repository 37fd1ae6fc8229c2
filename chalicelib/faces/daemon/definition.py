"""A daemon task definition: validated from a request body or a `runwisp.toml` table, turned
into an engine `TaskSpec`, and rendered as the API's task object (seed 002).

One validator serves both sources, so a file and a PUT body accept exactly the same keys
(including the newer spellings `max_concurrent`, `max_queued` and `kill`). The stored document
is the normalised definition; secrets live in it (for the executor) and are never rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.engine.model import Backoff, CatchUpPolicy, LogOnFull, Overlap, Restart, Task, TaskSpec, TriggerSpec
from chalicelib.engine.tasks import parse_trigger
from chalicelib.errors import ValidationError
from chalicelib.faces.daemon import params as params_mod
from chalicelib.faces.daemon.command_line import shell_argv
from chalicelib.faces.daemon.units import bytes_from, nanos, seconds_from
from chalicelib.timefmt import to_api

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9._:-]{1,100}$")
#: Engine task ids of daemon tasks: the name under a prefix no other face's ids use.
TASK_ID_PREFIX = "daemon:"
#: Keys a client may send back from a GET that the server owns; ignored in bodies.
READ_ONLY_KEYS = frozenset({"$schema", "next_run_at", "name"})
#: Newer spellings of the product's keys and values.
KEY_ALIASES = {"max_concurrent": "parallelism", "max_queued": "queue_max"}
OVERLAP_ALIASES = {"kill": "terminate"}

_DURATION_KEYS = ("timeout", "graceful_stop", "retry_delay", "restart_delay", "keep_for")
_KNOWN_KEYS = frozenset({
    "kind", "run", "shell", "working_dir", "env", "secrets", "description", "group", "cron", "timezone",
    "manual_trigger", "api_trigger", "run_on_start", "catch_up", "max_catch_up_runs", "parallelism",
    "on_overlap", "queue_max", "timeout", "graceful_stop", "retry_attempts", "retry_delay", "retry_backoff",
    "log_max_size", "log_on_full", "keep_runs", "keep_for", "instances", "restart", "restart_delay",
    "restart_backoff", "params",
})


def task_id_for(name: str) -> str:
    """The engine task id of the daemon task `name`."""
    return TASK_ID_PREFIX + name


def name_of(task_id: str) -> str:
    return task_id.removeprefix(TASK_ID_PREFIX)


def check_name(name: str, *, location: str = "path.taskName") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationError("a task name is 1-100 characters of a-z A-Z 0-9 . _ : -", location=location, value=name)
    return name


@dataclass(frozen=True, kw_only=True)
class Definition:
    """A validated daemon task or service."""

    name: str
    #: The normalised definition (durations in seconds, sizes in bytes), secrets included.
    document: dict[str, Any]
    spec: TaskSpec
    params: tuple[params_mod.ParamDecl, ...]

    @property
    def kind(self) -> str:
        return self.spec.kind


def parse_definition(name: str, raw: Any, *, location: str = "body", kind: str | None = None,
                     default_timezone: str = "UTC") -> Definition:
    """Validate one definition; `ValidationError` locations read like `body.cron`."""
    check_name(name)
    if not isinstance(raw, dict):
        raise ValidationError("a task definition is an object", location=location, value=None)
    data = {KEY_ALIASES.get(k, k): v for k, v in raw.items() if k not in READ_ONLY_KEYS}
    for key in data:
        if key not in _KNOWN_KEYS:
            raise ValidationError(f"unknown key {key!r}", location=f"{location}.{key}")
    if isinstance(data.get("on_overlap"), str):
        data["on_overlap"] = OVERLAP_ALIASES.get(data["on_overlap"], data["on_overlap"])
    at = lambda key: f"{location}.{key}"  # noqa: E731 - a one-line locator reads best here
    kind = kind or _choice(data, "kind", ("task", "service"), "task", at)
    if kind == "service" and data.get("cron"):
        raise ValidationError("a service runs all the time and takes no cron", location=at("cron"))
    run = data.get("run")
    if not isinstance(run, str) or not run.strip():
        raise ValidationError("run (the command to execute) is required", location=at("run"), value=run)
    if "\0" in run:
        raise ValidationError("run cannot contain a NUL character", location=at("run"))
    shell = _string(data, "shell", at) or "/bin/sh"
    timezone = _string(data, "timezone", at) or default_timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {timezone!r}", location=at("timezone"), value=timezone) from None
    cron = _string(data, "cron", at)
    trigger = TriggerSpec(expression=cron, timezone=timezone) if cron else None
    if trigger is not None:
        parse_trigger(trigger, field=at("cron"), timezone_field=at("timezone"))
    env = _string_table(data, "env", at)
    secrets = _string_table(data, "secrets", at)
    decls = params_mod.parse_declarations(data.get("params"), location=at("params"))
    if cron and (problem := params_mod.scheduled_problem(decls)):
        raise ValidationError(problem, location=at("params"))
    durations = {key: seconds_from(data[key], location=at(key)) for key in _DURATION_KEYS if data.get(key) is not None}
    defaults = invocation_defaults(decls)
    service = kind == "service"
    instances = _count(data, "instances", 1, at, low=1, high=64)
    restart_default = "always" if service else "never"
    spec = TaskSpec(
        executor="command",
        executor_config=command_config(name, run=run, shell=shell, working_dir=_string(data, "working_dir", at),
                                       env={**env, **secrets}, invocation=defaults),
        trigger=trigger,
        catch_up=CatchUpPolicy(_choice(data, "catch_up", ("latest", "all", "skip"), "latest", at)),
        max_catch_up_runs=_count(data, "max_catch_up_runs", 100, at, low=0, high=100),
        # Each service instance holds a slot; a restarted instance queues until the one it
        # replaces has stopped and given its slot back.
        parallelism=instances if service else _count(data, "parallelism", 1, at, low=1, high=1000),
        on_overlap=Overlap("queue" if service else
                           _choice(data, "on_overlap", ("queue", "skip", "terminate"), "queue", at)),
        queue_max=_count(data, "queue_max", 100, at, low=0, high=100_000),
        timeout=durations.get("timeout"),
        graceful_stop=durations.get("graceful_stop", 5.0),
        retry_attempts=_count(data, "retry_attempts", 0, at, low=0, high=100),
        retry_delay=durations.get("retry_delay", 0.0),
        retry_backoff=Backoff(_choice(data, "retry_backoff", _BACKOFFS, "constant", at)),
        log_max_size=(bytes_from(data["log_max_size"], location=at("log_max_size"))
                      if data.get("log_max_size") else None),
        log_on_full=LogOnFull(_choice(data, "log_on_full", ("drop_new", "drop_old", "kill_task"), "drop_new", at)),
        keep_runs=_count(data, "keep_runs", None, at, low=1, high=1_000_000),
        keep_for=durations.get("keep_for"),
        kind=kind,
        instances=instances,
        restart=Restart(_choice(data, "restart", ("never", "always", "on_failure"), restart_default, at)),
        restart_delay=durations.get("restart_delay", 1.0 if service else 0.0),
        restart_backoff=Backoff(_choice(data, "restart_backoff", _BACKOFFS, "constant", at)),
        run_on_start=_flag(data, "run_on_start", False, at),
    )
    document = {
        "kind": kind, "run": run, "shell": shell, "working_dir": _string(data, "working_dir", at),
        "env": env, "secrets": secrets, "description": _string(data, "description", at),
        "group": _string(data, "group", at), "cron": cron, "timezone": timezone,
        "api_trigger": _flag(data, "api_trigger", True, at) and _flag(data, "manual_trigger", True, at),
        "params": [d.to_document() for d in decls],
    }
    return Definition(name=name, document=document, spec=spec, params=decls)


_BACKOFFS = ("constant", "linear", "exponential")


def invocation_defaults(decls: tuple[params_mod.ParamDecl, ...]) -> params_mod.Invocation:
    """The invocation a scheduled run gets: every declared default."""
    return params_mod._invocation(decls, {d.identity: d.default for d in decls if d.default is not None})


def command_config(name: str, *, run: str, shell: str, working_dir: str | None, env: dict[str, str],
                   invocation: params_mod.Invocation) -> dict[str, Any]:
    """The command executor's config: `<shell> -e -c <run> <name> <values...>` (the rule is in
    `command_line`) and environment variables."""
    config: dict[str, Any] = {"args": shell_argv(shell, run, name, invocation.argv),
                              "env": {**env, **invocation.env}}
    if working_dir:
        config["working_dir"] = working_dir
    return config


def render_task(task: Task) -> dict[str, Any]:
    """The API's task object (seed 002): policies with defaults filled in, durations in
    nanoseconds, secret names only."""
    doc, spec = task.document or {}, task.spec
    body: dict[str, Any] = {
        "name": name_of(task.task_id),
        "kind": spec.kind,
        "description": doc.get("description") or "",
        "group": doc.get("group") or "",
        "cron": doc.get("cron") or "",
        "timezone": doc.get("timezone") or "UTC",
        "api_trigger": bool(doc.get("api_trigger", True)),
        "catch_up": spec.catch_up.value,
        "max_catch_up_runs": spec.max_catch_up_runs,
        "parallelism": spec.parallelism,
        "on_overlap": spec.on_overlap.value,
        "queue_max": spec.queue_max,
        "timeout": nanos(spec.timeout) or 0,
        "graceful_stop": nanos(spec.graceful_stop),
        "retry_attempts": spec.retry_attempts,
        "retry_delay": nanos(spec.retry_delay),
        "retry_backoff": spec.retry_backoff.value,
        "log_max_size": spec.log_max_size or 0,
        "log_on_full": spec.log_on_full.value,
        "keep_runs": spec.keep_runs or 0,
        "keep_for": nanos(spec.keep_for) or 0,
        "instances": spec.instances if spec.kind == "service" else 0,
        "restart": spec.restart.value,
        "restart_delay": nanos(spec.restart_delay),
        "restart_backoff": spec.restart_backoff.value,
        "run_on_start": spec.run_on_start,
        "run": doc.get("run"),
        "shell": doc.get("shell") or "/bin/sh",
        "working_dir": doc.get("working_dir") or "",
        "env": dict(doc.get("env") or {}),
        "secrets": sorted((doc.get("secrets") or {}).keys()),
        "params": list(doc.get("params") or []),
        "enabled": task.enabled,
    }
    if spec.kind == "task" and task.enabled and task.next_fire_at is not None:
        body["next_run_at"] = to_api(task.next_fire_at)
    return body


def run_override(task: Task, supplied: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The executor override for a run with request `params` (argv and parameter env only, so
    secrets are not copied into the run), and the effective values the run reports."""
    doc = task.document or {}
    decls = params_mod.parse_declarations(doc.get("params"), location="params")
    invocation = params_mod.resolve(decls, supplied)
    config = command_config(name_of(task.task_id), run=doc.get("run") or "", shell=doc.get("shell") or "/bin/sh",
                            working_dir=None, env={}, invocation=invocation)
    return {"args": config["args"], "env": config["env"]}, invocation.values


def changed(old: Task, new: Definition) -> bool:
    """Whether `new` differs from what `old` stores."""
    return old.document != new.document or old.spec != new.spec


def _string(data: dict, key: str, at: Any) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{key} is a string", location=at(key), value=value)
    if "\0" in value:
        raise ValidationError(f"{key} cannot contain a NUL character", location=at(key))
    return value or None


def _string_table(data: dict, key: str, at: Any) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str | int | float)
                                              and not isinstance(v, bool) for k, v in value.items()):
        raise ValidationError(f"{key} is a table of NAME = \"value\"", location=at(key))
    for name, text in value.items():
        if problem := params_mod.env_name_problem(name):
            raise ValidationError(problem, location=f"{at(key)}.{name.replace(chr(0), '?')}")
        if "\0" in str(text):
            raise ValidationError("a value cannot contain a NUL character", location=f"{at(key)}.{name}")
    return {k: str(v) for k, v in value.items()}


def _choice(data: dict, key: str, allowed: tuple[str, ...], default: str, at: Any) -> str:
    value = data.get(key)
    if value is None:
        return default
    if value not in allowed:
        raise ValidationError(f"{key} is one of {', '.join(allowed)}", location=at(key), value=value)
    return value


def _count(data: dict, key: str, default: int | None, at: Any, *, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{key} is a whole number from {low} to {high}", location=at(key), value=value)
    return value


def _flag(data: dict, key: str, default: bool, at: Any) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ValidationError(f"{key} is true or false", location=at(key), value=value)
    return value

