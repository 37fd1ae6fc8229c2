"""What the worker hands an executor and how a run ends when it cannot start, on the in-memory
twin with an injected clock: the execution context from the task's spec and the run, a tenant not
allowed commands, a function that does not resolve, and an executor that raises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import settings
from chalicelib.engine import command_policy, executors, logs, runs, tasks, worker
from chalicelib.engine.executors import ExecutionContext, ExecutionResult, Outcome
from chalicelib.engine.model import EndReason, LogOnFull, RunStatus, TaskSpec, TriggeredBy
from tests.functional.engine_harness import make_twin_harness

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def h(twin, monkeypatch):
    return make_twin_harness(monkeypatch, twin, T0)


class Recording:
    """An executor that records the context it was given and succeeds."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, ExecutionContext]] = []

    def execute(self, config: dict, context: ExecutionContext) -> ExecutionResult:
        self.calls.append((config, context))
        return ExecutionResult(outcome=Outcome.SUCCESS, exit_code=0)


class Broken:
    def __init__(self, message: str) -> None:
        self.message = message

    def execute(self, config: dict, context: ExecutionContext) -> ExecutionResult:
        raise RuntimeError(self.message)


def run_once(h, spec: TaskSpec, *, name: str = "job", tenant: str = "acme", params: dict | None = None):
    tasks.save_task(tenant=tenant, task_id=name, face="test", name=name.title(), spec=spec, enabled=True,
                    document=None, now=T0)
    run = runs.trigger_run(tasks.get_task(tenant, name), triggered_by=TriggeredBy.API, now=T0, params=params)
    h.deliver()
    return runs.get_run(tenant, name, run.run_id)


def system_lines(run) -> list[str]:
    return [line.text for line in logs.page(run, from_line=1, limit=50).lines if line.stream == "system"]


def test_a_python_run_gets_its_params_timeouts_and_no_environment(h, monkeypatch):
    recording = Recording()
    monkeypatch.setitem(executors.EXECUTORS, "python", recording)
    ended = run_once(h, TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}, timeout=30,
                                 graceful_stop=2), params={"n": 1})
    assert (ended.end_reason, ended.exit_code) == (EndReason.SUCCESS, 0)
    [(config, context)] = recording.calls
    assert config == {"callable": "os:getcwd"}
    assert (context.timeout, context.graceful_stop) == (timedelta(seconds=30), timedelta(seconds=2))
    assert (context.env, context.params, context.log_kill_bytes) == ({}, {"n": 1}, None)
    assert context.stop_event.is_set() is False


def test_a_run_without_params_or_timeout_gets_empty_params_and_no_timeout(h, monkeypatch):
    recording = Recording()
    monkeypatch.setitem(executors.EXECUTORS, "python", recording)
    run_once(h, TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}))
    [(_, context)] = recording.calls
    assert (context.timeout, context.params, context.graceful_stop) == (None, {}, timedelta(seconds=5))


def test_a_command_gets_the_run_variables_and_a_kill_size_only_when_its_log_kills_the_task(h, monkeypatch):
    recording = Recording()
    monkeypatch.setitem(executors.EXECUTORS, "command", recording)
    killed = run_once(h, TaskSpec(executor="command", executor_config={"args": ["true"]}, log_max_size=4096,
                                  log_on_full=LogOnFull.KILL_TASK), name="killer")
    dropped = run_once(h, TaskSpec(executor="command", executor_config={"args": ["true"]}, log_max_size=4096),
                       name="dropper")
    [(_, kill_context), (_, drop_context)] = recording.calls
    assert (kill_context.log_kill_bytes, drop_context.log_kill_bytes) == (4096, None)
    task = tasks.get_task("acme", "killer")
    assert kill_context.env == worker.run_metadata(task, killed) == {
        "TASKLANE_RUN_ID": killed.run_id, "TASKLANE_TASK": "Killer", "TASKLANE_TASK_ID": "killer",
        "TASKLANE_TENANT": "acme", "TASKLANE_TRIGGERED_BY": "api"}
    assert drop_context.env["TASKLANE_RUN_ID"] == dropped.run_id


def test_a_command_of_a_tenant_not_allowed_commands_ends_start_failed_saying_why(h, monkeypatch):
    recording = Recording()
    monkeypatch.setitem(executors.EXECUTORS, "command", recording)
    monkeypatch.setitem(executors.EXECUTORS, "python", recording)
    command = TaskSpec(executor="command", executor_config={"args": ["true"]})
    for tenant in ("acme", "globex"):  # defined while the tenant may still write commands
        tasks.save_task(tenant=tenant, task_id="job", face="test", name="Job", spec=command, enabled=True,
                        document=None, now=T0)
    monkeypatch.setenv("TASKLANE_COMMAND_TENANTS", "globex")
    settings.reset()
    try:
        refused = runs.trigger_run(tasks.get_task("acme", "job"), triggered_by=TriggeredBy.API, now=T0)
        kept = runs.trigger_run(tasks.get_task("globex", "job"), triggered_by=TriggeredBy.API, now=T0)
        h.deliver()
        python = run_once(h, TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}), name="py")
    finally:
        monkeypatch.setenv("TASKLANE_COMMAND_TENANTS", "*")
        settings.reset()
    ended = runs.get_run("acme", "job", refused.run_id)
    allowed = runs.get_run("globex", "job", kept.run_id)
    reason = command_policy.refusal("acme")
    assert (ended.status, ended.end_reason, ended.exit_code, ended.detail) == (
        RunStatus.ENDED, EndReason.START_FAILED, -1, reason)
    assert system_lines(ended) == [f"cannot start: {reason}"]
    assert (python.end_reason, allowed.end_reason) == (EndReason.SUCCESS, EndReason.SUCCESS)
    assert len(recording.calls) == 2  # the refused command never reached its executor


def test_a_function_that_does_not_resolve_fails_the_run_with_exit_one_and_the_reason(h, monkeypatch):
    monkeypatch.delenv("TASKLANE_FUNCTIONS", raising=False)
    ended = run_once(h, TaskSpec(executor="function", executor_config={"ref_name": "app.reload", "arguments": {}}))
    assert (ended.end_reason, ended.exit_code, ended.http_status) == (EndReason.FAILED, 1, None)
    assert ended.detail and "app.reload" in ended.detail
    assert system_lines(ended) == [f"cannot run: {ended.detail}"]


def test_an_executor_that_raises_ends_its_run_start_failed_with_the_error(h, monkeypatch):
    monkeypatch.setitem(executors.EXECUTORS, "python", Broken("kaput"))
    ended = run_once(h, TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}))
    assert (ended.end_reason, ended.exit_code, ended.detail) == (EndReason.START_FAILED, -1, "executor error: kaput")
    assert system_lines(ended) == ["cannot start: the python executor failed: RuntimeError"]


def test_an_executor_errors_detail_is_cut_at_five_hundred_characters(h, monkeypatch):
    monkeypatch.setitem(executors.EXECUTORS, "python", Broken("x" * 600))
    ended = run_once(h, TaskSpec(executor="python", executor_config={"callable": "os:getcwd"}))
    assert ended.detail == ("executor error: " + "x" * 600)[:500]
