"""The rules of a strategy that its types cannot state, checked whole before anything is written.

Each refusal is a `ValidationError` located at the JSON path of the offending value
(`settings.tasks[0].steps[1].nextStep`), so the face can answer a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from chalicelib.engine.execution import jtd
from chalicelib.engine.execution.definition import (
    ExecutionNextStepIf,
    ExecutionSettings,
    ExecutionStrategyBody,
    ExecutionTask,
    calendar_for_cycle,
)
from chalicelib.engine.instants import zone_named
from chalicelib.errors import ValidationError

NO_CALLBACKS = "names a controller callback; tasklane runs no controller code, so it is not supported"
#: Keys whose values are the tenant's own data (sent to services, validated against), not settings.
USER_DATA_KEYS = frozenset({"encryptedSettings", "headers", "params", "data", "attributes", "responseValidation",
                            "instanceValidation"})
#: Keys of the product that name code hooks, wherever they appear.
CALLBACK_KEYS = frozenset({"controller", "controllerCallback", "resumeControllerCallback", "retryEventCallback",
                           "runOnCycleCallback", "nextCycleDateCallback", "createIf", "ifCallback"})


def _refuse(path: str, message: str) -> ValidationError:
    return ValidationError(f"{path} {message}", location=path)


def _unique(keys: Iterable[str], path: str) -> set[str]:
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if key in seen:
            raise _refuse(f"{path}[{index}].key", f"repeats the key {key!r}")
        seen.add(key)
    return seen


def check_strategy(body: ExecutionStrategyBody, *, environment: str) -> None:
    """Refuse the first rule `body` breaks (see the module docstring)."""
    if not body.name.strip():
        raise _refuse("name", "must not be empty")
    settings = body.settings
    root = "settings"
    config = settings.config
    if config is not None and config.timezone is not None:
        zone_named(config.timezone, field=f"{root}.config.timezone")
    if config is not None and config.instance_validation is not None:
        try:
            jtd.check_schema(config.instance_validation, f"{root}.config.instanceValidation")
        except jtd.SchemaProblem as problem:
            raise _refuse(problem.path, problem.message) from None
    services = _check_services(settings, environment)
    actions = _check_actions(settings, services)
    tasks = _unique((task.key for task in settings.tasks), f"{root}.tasks")
    for index, task in enumerate(settings.tasks):
        _check_task(task, f"{root}.tasks[{index}]", actions)
    _check_schedule(settings, tasks)
    for name, triggers in (("onCreateTasks", settings.on_create_tasks), ("onCancelTasks", settings.on_cancel_tasks)):
        for index, trigger in enumerate(triggers or ()):
            path = f"{root}.{name}[{index}]"
            if trigger.task not in tasks:
                raise _refuse(f"{path}.task", f"names no task of settings.tasks ({trigger.task!r})")
            if trigger.create_if is not None:
                raise _refuse(f"{path}.createIf", NO_CALLBACKS)
            if trigger.delay_by is not None and trigger.delay_by.retry_event_callback is not None:
                raise _refuse(f"{path}.delayBy.retryEventCallback", NO_CALLBACKS)
    _refuse_callbacks(msgspec.to_builtins(settings), root)


def _refuse_callbacks(value: Any, path: str) -> None:
    """Refuse a code hook anywhere in the settings (the checks above name the common ones first)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in CALLBACK_KEYS and item is not None:
                raise _refuse(f"{path}.{key}", NO_CALLBACKS)
            if key not in USER_DATA_KEYS:
                _refuse_callbacks(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_callbacks(item, f"{path}[{index}]")


def _check_services(settings: ExecutionSettings, environment: str) -> dict[str, set[str]]:
    """Method keys by service key; every service has a base URL for `environment`."""
    _unique((service.key for service in settings.services), "settings.services")
    methods: dict[str, set[str]] = {}
    for index, service in enumerate(settings.services):
        path = f"settings.services[{index}]"
        methods[service.key] = _unique((method.key for method in service.methods), f"{path}.methods")
        urls = [base for base in service.base_urls if base.environment == environment]
        if not urls:
            raise _refuse(f"{path}.baseUrls", f"has no URL for the environment {environment!r} "
                                              f"(service {service.key!r})")
        for position, base in enumerate(service.base_urls):
            if not base.url.startswith(("http://", "https://")):
                raise _refuse(f"{path}.baseUrls[{position}].url", "must be an http(s) URL")
        for position, auth in enumerate(service.authorization or ()):
            if not auth.url.startswith(("http://", "https://", "/")):
                raise _refuse(f"{path}.authorization[{position}].url", "must be an http(s) URL or a path")
    return methods


def _check_actions(settings: ExecutionSettings, services: dict[str, set[str]]) -> set[str]:
    keys = _unique((action.key for action in settings.actions), "settings.actions")
    for index, action in enumerate(settings.actions):
        path = f"settings.actions[{index}]"
        if action.service not in services:
            raise _refuse(f"{path}.service", f"names no service of settings.services ({action.service!r})")
        if action.method not in services[action.service]:
            raise _refuse(f"{path}.method", f"names no method of service {action.service!r} ({action.method!r})")
    return keys


def _check_task(task: ExecutionTask, path: str, actions: set[str]) -> None:
    steps = _unique((step.key for step in task.steps), f"{path}.steps")
    if task.initial_step not in steps:
        raise _refuse(f"{path}.initialStep", f"names no step of the task ({task.initial_step!r})")
    following: dict[str, list[str]] = {}
    for index, step in enumerate(task.steps):
        at = f"{path}.steps[{index}]"
        for name, value in (("controller", step.controller), ("controllerCallback", step.controller_callback),
                            ("resumeControllerCallback", step.resume_controller_callback)):
            if value is not None:
                raise _refuse(f"{at}.{name}", NO_CALLBACKS)
        if step.action is not None and step.action not in actions:
            raise _refuse(f"{at}.action", f"names no action of settings.actions ({step.action!r})")
        nexts = []
        if step.next_step is not None:
            if step.next_step not in steps:
                raise _refuse(f"{at}.nextStep", f"names no step of the task ({step.next_step!r})")
            nexts.append(step.next_step)
        for position, rule in enumerate(step.next_step_rules or ()):
            rule_path = f"{at}.nextStepRules[{position}]"
            if rule.if_ is ExecutionNextStepIf.CALLBACK or rule.if_callback is not None:
                raise _refuse(f"{rule_path}.if", NO_CALLBACKS)
            if rule.next_step is None:
                raise _refuse(f"{rule_path}.nextStep", "is required")
            if rule.next_step not in steps:
                raise _refuse(f"{rule_path}.nextStep", f"names no step of the task ({rule.next_step!r})")
            nexts.append(rule.next_step)
        if not step.final and step.next_step is None:
            raise _refuse(f"{at}.nextStep", "is required for a step that is not final")
        following[step.key] = nexts
    finals = {step.key for step in task.steps if step.final}
    reached, frontier = {task.initial_step}, [task.initial_step]
    while frontier:
        for after in following[frontier.pop()]:
            if after not in reached:
                reached.add(after)
                frontier.append(after)
    if not reached & finals:
        raise _refuse(f"{path}.steps", f"has no final step reachable from initialStep {task.initial_step!r}")


def _check_schedule(settings: ExecutionSettings, tasks: set[str]) -> None:
    schedule = settings.schedule
    root = "settings.schedule"
    _unique((c.key for c in schedule.calendars), f"{root}.calendars")
    if schedule.initial_delay is not None and schedule.initial_delay.retry_event_callback is not None:
        raise _refuse(f"{root}.initialDelay.retryEventCallback", NO_CALLBACKS)
    cycles: set[int] = set()
    for index, calendar in enumerate(schedule.calendars):
        path = f"{root}.calendars[{index}]"
        for name, value in (("runOnCycleCallback", calendar.run_on_cycle_callback),
                            ("nextCycleDateCallback", calendar.next_cycle_date_callback),
                            ("scheduleAfter.retryEventCallback", calendar.schedule_after.retry_event_callback)):
            if value is not None:
                raise _refuse(f"{path}.{name}", NO_CALLBACKS)
        if calendar.run_on_cycle is not None:
            if calendar.run_on_cycle in cycles:
                raise _refuse(f"{path}.runOnCycle", f"repeats cycle {calendar.run_on_cycle}")
            cycles.add(calendar.run_on_cycle)
        if calendar.task is None:
            raise _refuse(f"{path}.task", "is required: it is the main task of the cycles the calendar places")
        if calendar.task not in tasks:
            raise _refuse(f"{path}.task", f"names no task of settings.tasks ({calendar.task!r})")
        for position, leading in enumerate(calendar.leading_up_tasks or ()):
            if leading.task not in tasks:
                raise _refuse(f"{path}.leadingUpTasks[{position}].task",
                              f"names no task of settings.tasks ({leading.task!r})")
    if calendar_for_cycle(schedule, 1) is None:
        raise _refuse(f"{root}.calendars", "places no first cycle: give one calendar runOnCycle 1 or none")
