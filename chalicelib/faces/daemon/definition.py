"""A daemon task definition: validated from a request body or a `runwisp.toml` table and
turned into an engine `TaskSpec` (rendering is `task_view`, the command's config
`command_config`).

One model (`requests.DaemonTaskDefinition`) serves both sources, so a file and a PUT body accept
exactly the same keys (including the newer spellings `max_concurrent`, `max_queued` and
`kill`); what it cannot state (a service takes no cron, the zone, the cron expression, the
parameter declarations) is checked here. The stored document is the normalised definition;
secrets live in it (for the executor) and are never rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.engine.instants import zone_named
from chalicelib.engine.model import Backoff, CatchUpPolicy, LogOnFull, Overlap, Restart, Task, TaskSpec, TriggerSpec
from chalicelib.engine.tasks import parse_trigger
from chalicelib.errors import ValidationError
from chalicelib.faces.daemon import params as params_mod
from chalicelib.faces.daemon.command_config import command_config, invocation_defaults
from chalicelib.faces.daemon.names import check_name
from chalicelib.faces.daemon.requests import DaemonTaskDefinition
from chalicelib.faces.daemon.units import bytes_from, seconds_from
from chalicelib.faces.request_models import decode

#: Keys a client may send back from a GET that the server owns; ignored in bodies.
READ_ONLY_KEYS = frozenset({"$schema", "next_run_at", "name"})
#: Newer spellings of the product's keys and values.
KEY_ALIASES = {"max_concurrent": "parallelism", "max_queued": "queue_max"}
OVERLAP_ALIASES = {"kill": "terminate"}

_DURATION_KEYS = ("timeout", "graceful_stop", "retry_delay", "restart_delay", "keep_for")
#: Keys whose text reaches a command, a path or a log line: no NUL in any of them.
_TEXT_KEYS = ("run", "shell", "working_dir", "description", "group", "cron", "timezone")


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
    """Validate one definition with the `DaemonTaskDefinition` model, then the rules across keys;
    `ValidationError` locations read like `body.cron`."""
    check_name(name)
    if not isinstance(raw, dict):
        raise ValidationError("a task definition is an object", location=location, value=None)
    data = {KEY_ALIASES.get(k, k): v for k, v in raw.items() if k not in READ_ONLY_KEYS}
    if isinstance(data.get("on_overlap"), str):
        data["on_overlap"] = OVERLAP_ALIASES.get(data["on_overlap"], data["on_overlap"])
    model = decode(DaemonTaskDefinition, data, location=location)
    at = lambda key: f"{location}.{key}"  # noqa: E731 - a one-line locator reads best here
    _refuse_nul(model, at)
    kind = kind or model.kind or "task"
    service = kind == "service"
    if service and model.cron:
        raise ValidationError("a service runs all the time and takes no cron", location=at("cron"))
    if not model.run.strip():
        raise ValidationError("run (the command to execute) is required", location=at("run"), value=model.run)
    shell = model.shell or "/bin/sh"
    timezone = model.timezone or default_timezone
    zone_named(timezone, field=at("timezone"))
    cron = model.cron or None
    trigger = TriggerSpec(expression=cron, timezone=timezone) if cron else None
    if trigger is not None:
        parse_trigger(trigger, field=at("cron"), timezone_field=at("timezone"))
    env = _table(model.env, at("env"))
    secrets = _table(model.secrets, at("secrets"))
    decls = params_mod.parse_declarations(data.get("params"), location=at("params"))
    if cron and (problem := params_mod.scheduled_problem(decls)):
        raise ValidationError(problem, location=at("params"))
    durations = {key: seconds_from(getattr(model, key), location=at(key))
                 for key in _DURATION_KEYS if getattr(model, key) is not None}
    instances = model.instances or 1
    spec = TaskSpec(
        executor="command",
        executor_config=command_config(name, run=model.run, shell=shell, working_dir=model.working_dir or None,
                                       env={**env, **secrets}, invocation=invocation_defaults(decls)),
        trigger=trigger,
        catch_up=CatchUpPolicy(model.catch_up or "latest"),
        max_catch_up_runs=_given(model.max_catch_up_runs, 100),
        # Each service instance holds a slot; a restarted instance queues until the one it
        # replaces has stopped and given its slot back.
        parallelism=instances if service else _given(model.parallelism, 1),
        on_overlap=Overlap("queue" if service else model.on_overlap or "queue"),
        queue_max=_given(model.queue_max, 100),
        timeout=durations.get("timeout"),
        graceful_stop=durations.get("graceful_stop", 5.0),
        retry_attempts=_given(model.retry_attempts, 0),
        retry_delay=durations.get("retry_delay", 0.0),
        retry_backoff=Backoff(model.retry_backoff or "constant"),
        log_max_size=bytes_from(model.log_max_size, location=at("log_max_size")) if model.log_max_size else None,
        log_on_full=LogOnFull(model.log_on_full or "drop_new"),
        keep_runs=model.keep_runs,
        keep_for=durations.get("keep_for"),
        kind=kind,
        instances=instances,
        restart=Restart(model.restart or ("always" if service else "never")),
        restart_delay=durations.get("restart_delay", 1.0 if service else 0.0),
        restart_backoff=Backoff(model.restart_backoff or "constant"),
        run_on_start=bool(model.run_on_start),
    )
    document = {
        "kind": kind, "run": model.run, "shell": shell, "working_dir": model.working_dir or None,
        "env": env, "secrets": secrets, "description": model.description or None,
        "group": model.group or None, "cron": cron, "timezone": timezone,
        "api_trigger": _given(model.api_trigger, True) and _given(model.manual_trigger, True),
        "params": [d.to_document() for d in decls],
    }
    return Definition(name=name, document=document, spec=spec, params=decls)


def changed(old: Task, new: Definition) -> bool:
    """Whether `new` differs from what `old` stores."""
    return old.document != new.document or old.spec != new.spec


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


def _refuse_nul(model: DaemonTaskDefinition, at: Any) -> None:
    """No text of a definition may hold a NUL character: a command, path or name cannot."""
    for key in _TEXT_KEYS:
        value = getattr(model, key)
        if value is not None and "\0" in value:
            raise ValidationError(f"{key} cannot contain a NUL character", location=at(key))


def _table(value: dict[str, str | int | float] | None, location: str) -> dict[str, str]:
    """An `env` or `secrets` table: names an environment can hold, values without NUL."""
    for name, text in (value or {}).items():
        if problem := params_mod.env_name_problem(name):
            raise ValidationError(problem, location=f"{location}.{name.replace(chr(0), '?')}")
        if "\0" in str(text):
            raise ValidationError("a value cannot contain a NUL character", location=f"{location}.{name}")
    return {k: str(v) for k, v in (value or {}).items()}
