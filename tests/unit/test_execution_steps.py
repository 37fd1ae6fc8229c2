"""The step machine: steps in order, rules on failure, retries, pauses, cancels, async resumes,
redeliveries. A fake caller answers each step; the clock is a fixed instant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from chalicelib.engine.execution.definition import ExecutionTask
from chalicelib.engine.execution.steps import (
    INTERRUPTED,
    Phase,
    Progress,
    ResumeRefused,
    StepCall,
    StepContext,
    VerdictKind,
    resume,
    run_steps,
)


def Delta(unit: str, amount: int) -> dict[str, Any]:  # noqa: N802 - reads as the value it builds
    return {"unit": unit, "amount": amount}


def Retry(times: int, retry_after: dict | None = None, retry_strategy: tuple = (),  # noqa: N802
          pause_before_cancel: bool = False) -> dict[str, Any]:
    config: dict[str, Any] = {"times": times, "pauseBeforeCancel": pause_before_cancel}
    if retry_after is not None:
        config["retryAfter"] = retry_after
    if retry_strategy:
        config["retryStrategy"] = list(retry_strategy)
    return config


def Rule(when: str, next_step: str | None) -> dict[str, Any]:  # noqa: N802
    return {"if": when, "nextStep": next_step}


def Step(key: str, action: str | None = "act", final: bool = False, optional: bool = False,  # noqa: N802
         repeat_on_retry: bool = False, next_step: str | None = None, next_step_rules: tuple = (),
         retry_config: dict | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"key": key, "final": final, "optional": optional, "repeatOnRetry": repeat_on_retry,
                            "nextStepRules": list(next_step_rules)}
    for name, value in (("action", action), ("nextStep", next_step), ("retryConfig", retry_config)):
        if value is not None:
            step[name] = value
    return step


def Task(key: str, initial_step: str, steps: tuple, retry_config: dict | None = None) -> ExecutionTask:  # noqa: N802
    """A task of the definition model, read from its JSON as a strategy document holds it."""
    document: dict[str, Any] = {"key": key, "initialStep": initial_step, "steps": list(steps)}
    if retry_config is not None:
        document["retryConfig"] = retry_config
    return msgspec.convert(document, ExecutionTask)


def chain(*keys: str, **overrides: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """Steps calling each other in order, the last final; `overrides[key]` changes a step."""
    steps = []
    for index, key in enumerate(keys):
        last = index == len(keys) - 1
        arguments: dict[str, Any] = {"key": key, "next_step": None if last else keys[index + 1], "final": last}
        steps.append(Step(**{**arguments, **overrides.get(key, {})}))
    return tuple(steps)


class Service:
    """The fake caller: answers each step from a script, records every call."""

    def __init__(self, **script: list[StepCall]) -> None:
        self.script = {key: list(answers) for key, answers in script.items()}
        self.calls: list[tuple[str, StepContext]] = []

    def __call__(self, step: Any, context: StepContext) -> StepCall:
        self.calls.append((step.key, context))
        answers = self.script.get(step.key)
        if not answers:
            return StepCall(success=True, data={"step": step.key, "attempt": context.attempt})
        return answers.pop(0) if len(answers) > 1 else answers[0]

    @property
    def called(self) -> list[str]:
        return [key for key, _ in self.calls]


@dataclass
class Journal:
    saved: list[Progress] = field(default_factory=list)
    refuse: bool = False

    def save(self, progress: Progress) -> bool:
        if self.refuse:
            return False
        self.saved.append(progress)
        return True


FAIL = StepCall(success=False, message="HTTP 500", data={"error": "down"})


def walk(task: Task, service: Service, progress: Progress | None = None, journal: Journal | None = None):
    return run_steps(task, progress or Progress.first(task), call=service, journal=journal or Journal(),
                     correlation_of=lambda step, attempt: f"ev-1.{attempt}.{step}")


def test_steps_run_in_order_to_the_final_step_and_each_result_lands_in_the_task_status():
    task = Task(key="bill", initial_step="quote", steps=chain("quote", "charge", "receipt"))
    service = Service()
    verdict = walk(task, service)
    assert verdict.kind is VerdictKind.PROCESSED
    assert service.called == ["quote", "charge", "receipt"]
    status = verdict.progress.to_task_status()
    assert status["lastStep"] == "receipt"
    assert [(r["step"], r["success"], r["data"]) for r in status["taskResults"]] == [
        ("quote", True, {"step": "quote", "attempt": 1}),
        ("charge", True, {"step": "charge", "attempt": 1}),
        ("receipt", True, {"step": "receipt", "attempt": 1}),
    ]


def test_each_call_sees_the_data_of_the_steps_before_it():
    task = Task(key="bill", initial_step="a", steps=chain("a", "b"))
    service = Service(a=[StepCall(success=True, data={"amount": 12})])
    walk(task, service)
    assert service.calls[1][1].results == {"a": {"amount": 12}}


def test_a_step_without_an_action_succeeds_without_a_call():
    task = Task(key="t", initial_step="start", steps=chain("start", "work", start={"action": None}))
    service = Service()
    verdict = walk(task, service)
    assert verdict.kind is VerdictKind.PROCESSED and service.called == ["work"]
    assert verdict.progress.result_of("start").success is True


def test_a_failed_optional_step_does_not_fail_the_event():
    task = Task(key="t", initial_step="a", steps=chain("a", "b", "c", b={"optional": True}))
    service = Service(b=[FAIL])
    verdict = walk(task, service)
    assert verdict.kind is VerdictKind.PROCESSED and service.called == ["a", "b", "c"]
    assert verdict.progress.result_of("b").success is False
    assert verdict.progress.result_of("b").message == "HTTP 500"


def test_an_on_error_rule_detours_and_a_final_step_reached_from_there_ends_the_event_processed():
    steps = (
        Step(key="charge", next_step="receipt", next_step_rules=(Rule("onError", "dunning"),)),
        Step(key="receipt", final=True),
        Step(key="dunning", final=True),
    )
    service = Service(charge=[FAIL])
    verdict = walk(Task(key="t", initial_step="charge", steps=steps, retry_config=Retry(times=3)), service)
    assert verdict.kind is VerdictKind.PROCESSED
    assert service.called == ["charge", "dunning"]
    assert [r.success for r in verdict.progress.results] == [False, True]


def test_a_failure_without_a_retry_configuration_fails_the_event_and_says_why():
    task = Task(key="t", initial_step="a", steps=chain("a", "b"))
    service = Service(a=[FAIL])
    verdict = walk(task, service)
    assert verdict.kind is VerdictKind.FAILED and verdict.message == "HTTP 500"
    assert service.called == ["a"]
    assert verdict.progress.failed_step == "a"


def test_a_failed_attempt_with_retries_left_is_retried_retry_after_later():
    task = Task(key="t", initial_step="a", steps=chain("a"),
                retry_config=Retry(times=2, retry_after=Delta("minutes", 10)))
    verdict = walk(task, Service(a=[FAIL]))
    assert verdict.kind is VerdictKind.RETRY
    assert (verdict.retry_wait.unit, verdict.retry_wait.amount) == ("minutes", 10)
    assert verdict.progress.attempt == 1


def test_the_retry_strategy_sets_each_attempts_wait_and_retry_after_covers_the_rest():
    config = Retry(times=5, retry_after=Delta("hours", 1),
                   retry_strategy=(Delta("minutes", 1), Delta("minutes", 5), Delta("days", 1)))
    task = Task(key="t", initial_step="a", steps=chain("a"), retry_config=config)
    progress, waits = Progress.first(task), []
    for _ in range(5):
        verdict = walk(task, Service(a=[FAIL]), progress)
        assert verdict.kind is VerdictKind.RETRY
        waits.append((verdict.retry_wait.unit, verdict.retry_wait.amount))
        progress = verdict.progress.next_attempt(task)
    assert waits == [("minutes", 1), ("minutes", 5), ("days", 1), ("hours", 1), ("hours", 1)]


def test_without_retry_after_the_last_strategy_entry_repeats():
    config = Retry(times=3, retry_strategy=(Delta("minutes", 1), Delta("minutes", 2)))
    task = Task(key="t", initial_step="a", steps=chain("a"), retry_config=config)
    third = Progress(attempt=3, cursor="a")
    wait = walk(task, Service(a=[FAIL]), third).retry_wait
    assert (wait.unit, wait.amount) == ("minutes", 2)


def _fail_every_attempt(task: Task) -> tuple[list[VerdictKind], Any]:
    progress, kinds = Progress.first(task), []
    for _attempt in range(10):
        verdict = walk(task, Service(a=[FAIL]), progress)
        kinds.append(verdict.kind)
        if verdict.kind is not VerdictKind.RETRY:
            return kinds, verdict
        progress = verdict.progress.next_attempt(task)
    raise AssertionError("retries never end")


def test_when_the_retries_are_used_up_the_instance_is_canceled():
    task = Task(key="t", initial_step="a", steps=chain("a"),
                retry_config=Retry(times=2, retry_after=Delta("minutes", 1)))
    kinds, last = _fail_every_attempt(task)
    assert kinds == [VerdictKind.RETRY, VerdictKind.RETRY, VerdictKind.CANCEL_INSTANCE]
    assert last.progress.attempt == 3 and last.message == "HTTP 500"


def test_when_the_retries_are_used_up_with_pause_before_cancel_the_instance_is_paused():
    task = Task(key="t", initial_step="a", steps=chain("a"),
                retry_config=Retry(times=1, retry_after=Delta("minutes", 1), pause_before_cancel=True))
    kinds, _ = _fail_every_attempt(task)
    assert kinds == [VerdictKind.RETRY, VerdictKind.PAUSE_INSTANCE]


def test_with_no_retries_at_all_the_first_failure_cancels_the_instance():
    task = Task(key="t", initial_step="a", steps=chain("a"), retry_config=Retry(times=0))
    assert _fail_every_attempt(task)[0] == [VerdictKind.CANCEL_INSTANCE]


def test_on_before_retry_steps_run_before_the_retry_and_on_before_pause_steps_before_the_pause():
    rules = (Rule("onBeforeRetry", "warn"), Rule("onBeforePause", "suspend"))
    steps = (
        Step(key="a", final=True, next_step_rules=rules),
        Step(key="warn", next_step="warn-more"),
        Step(key="warn-more", final=True),
        Step(key="suspend", final=True),
    )
    task = Task(key="t", initial_step="a", steps=steps,
                retry_config=Retry(times=1, retry_after=Delta("minutes", 3), pause_before_cancel=True))
    first = Service(a=[FAIL])
    verdict = walk(task, first)
    assert (verdict.kind, first.called) == (VerdictKind.RETRY, ["a", "warn", "warn-more"])
    assert verdict.retry_wait.amount == 3 and verdict.message == "HTTP 500"
    second = Service(a=[FAIL])
    verdict = walk(task, second, verdict.progress.next_attempt(task))
    assert (verdict.kind, second.called) == (VerdictKind.PAUSE_INSTANCE, ["a", "suspend"])


def test_a_failure_on_the_way_to_a_retry_still_retries():
    steps = (Step(key="a", final=True, next_step_rules=(Rule("onBeforeRetry", "warn"),)),
             Step(key="warn", final=True))
    task = Task(key="t", initial_step="a", steps=steps, retry_config=Retry(times=1))
    verdict = walk(task, Service(a=[FAIL], warn=[FAIL]))
    assert verdict.kind is VerdictKind.RETRY and verdict.retry_wait is None
    assert verdict.message == "HTTP 500"


def test_a_steps_own_retry_configuration_wins_over_the_tasks():
    steps = chain("a", a={"retry_config": Retry(times=0, pause_before_cancel=True)})
    task = Task(key="t", initial_step="a", steps=steps, retry_config=Retry(times=5))
    assert walk(task, Service(a=[FAIL])).kind is VerdictKind.PAUSE_INSTANCE


def test_a_retry_reuses_the_steps_that_succeeded_unless_they_repeat_on_retry():
    task = Task(key="t", initial_step="quote", retry_config=Retry(times=1),
                steps=chain("quote", "charge", "receipt", quote={"repeat_on_retry": True}))
    first = Service(receipt=[FAIL])
    verdict = walk(task, first)
    assert verdict.kind is VerdictKind.RETRY
    second = Service()
    verdict = walk(task, second, verdict.progress.next_attempt(task))
    assert verdict.kind is VerdictKind.PROCESSED
    assert second.called == ["quote", "receipt"]  # charge is not called twice
    charge = verdict.progress.result_of("charge")
    assert (charge.from_cache, charge.attempt) == (True, 1)
    assert verdict.progress.result_of("receipt").attempt == 2


def test_an_async_step_leaves_the_event_waiting_on_its_correlation_id():
    task = Task(key="t", initial_step="a", steps=chain("a", "b"))
    service = Service(a=[StepCall(success=True, data={"accepted": True}, waits=True)])
    verdict = walk(task, service)
    assert verdict.kind is VerdictKind.WAITING and service.called == ["a"]
    assert verdict.progress.phase is Phase.WAITING
    assert verdict.progress.correlation_id == "ev-1.1.a"
    assert verdict.progress.result_of("a").to_document()["correlationId"] == "ev-1.1.a"
    again = walk(task, Service(), verdict.progress)  # a redelivery does not call anything
    assert again.kind is VerdictKind.WAITING


def test_a_resume_makes_its_body_the_steps_result_keeps_the_first_and_goes_on():
    task = Task(key="t", initial_step="a", steps=chain("a", "b"))
    waiting = walk(task, Service(a=[StepCall(success=True, data={"accepted": True}, waits=True)])).progress
    progress = resume(task, waiting, correlation_id="ev-1.1.a", body={"paid": True})
    result = progress.result_of("a")
    assert (result.data, result.after_resume_data, result.from_cache) == ({"paid": True}, {"accepted": True}, False)
    assert [(r.step, r.from_cache, r.data) for r in progress.cached_results] == [("a", True, {"accepted": True})]
    service = Service()
    verdict = walk(task, service, progress)
    assert verdict.kind is VerdictKind.PROCESSED and service.called == ["b"]
    assert service.calls[0][1].results == {"a": {"paid": True}}


def test_resuming_a_final_async_step_ends_the_event_processed():
    task = Task(key="t", initial_step="a", steps=chain("a"))
    waiting = walk(task, Service(a=[StepCall(success=True, waits=True)])).progress
    progress = resume(task, waiting, correlation_id="ev-1.1.a", body={"done": 1})
    service = Service()
    assert walk(task, service, progress).kind is VerdictKind.PROCESSED and service.called == []


def test_a_resume_is_refused_when_the_event_does_not_wait_on_that_correlation_id():
    task = Task(key="t", initial_step="a", steps=chain("a", "b"))
    waiting = walk(task, Service(a=[StepCall(success=True, waits=True)])).progress
    with pytest.raises(ResumeRefused, match="another correlation id"):
        resume(task, waiting, correlation_id="ev-1.1.b", body={})
    resumed = resume(task, waiting, correlation_id="ev-1.1.a", body={})
    with pytest.raises(ResumeRefused, match="not waiting"):
        resume(task, resumed, correlation_id="ev-1.1.a", body={})


def test_a_failed_async_call_is_a_failure_not_a_wait():
    task = Task(key="t", initial_step="a", steps=chain("a"))
    verdict = walk(task, Service(a=[StepCall(success=False, message="HTTP 503", waits=True)]))
    assert verdict.kind is VerdictKind.FAILED and verdict.progress.correlation_id is None


def test_the_progress_is_saved_with_the_step_marked_calling_before_each_call():
    task = Task(key="t", initial_step="a", steps=chain("a", "b"))
    journal = Journal()
    walk(task, Service(), journal=journal)
    assert [(p.cursor, p.phase, [r.step for r in p.results]) for p in journal.saved] == [
        ("a", Phase.CALLING, []), ("b", Phase.CALLING, ["a"])]


def test_a_step_interrupted_by_a_dead_worker_is_not_called_again_and_fails_the_attempt():
    task = Task(key="t", initial_step="a", retry_config=Retry(times=1), steps=chain("a", "b"))
    journal = Journal()
    walk(task, Service(), journal=journal)
    interrupted = journal.saved[-1]  # b was being called when the worker died
    service = Service()
    verdict = walk(task, service, interrupted)
    assert service.called == []
    assert verdict.kind is VerdictKind.RETRY
    assert verdict.progress.result_of("b").message == INTERRUPTED
    retried = Service()
    assert walk(task, retried, verdict.progress.next_attempt(task)).kind is VerdictKind.PROCESSED
    assert retried.called == ["b"]  # the next attempt calls it again, once


def test_a_refused_save_stops_the_walk_lost_before_the_call():
    task = Task(key="t", initial_step="a", steps=chain("a"))
    service = Service()
    verdict = walk(task, service, journal=Journal(refuse=True))
    assert verdict.kind is VerdictKind.LOST and service.called == []


def test_a_walk_that_loops_fails_its_attempt():
    steps = (Step(key="a", next_step="b"), Step(key="b", next_step="a"), Step(key="z", final=True))
    task = Task(key="t", initial_step="a", steps=steps)
    service = Service()
    verdict = run_steps(task, Progress.first(task), call=service, journal=Journal(),
                        correlation_of=lambda s, a: s, max_steps=7)
    assert verdict.kind is VerdictKind.FAILED and len(service.calls) == 7
    assert "loop" in verdict.message


def test_a_final_step_ends_the_walk_even_when_it_names_a_next_step():
    task = Task(key="t", initial_step="a", steps=chain("a", "b", a={"final": True}))
    service = Service()
    assert walk(task, service).kind is VerdictKind.PROCESSED and service.called == ["a"]


def test_progress_survives_storage_as_json_unchanged():
    import json

    task = Task(key="t", initial_step="a", retry_config=Retry(times=1), steps=chain("a", "b", "c"))
    waiting = walk(task, Service(a=[StepCall(success=True, data={"n": 1}, http={"response": {"status": 202}},
                                             waits=True)])).progress
    resumed = resume(task, waiting, correlation_id="ev-1.1.a", body={"paid": True})
    failed = walk(task, Service(b=[FAIL]), resumed).progress
    for progress in (Progress.first(task), waiting, resumed, failed):
        assert Progress.from_stored(json.loads(json.dumps(progress.to_stored()))) == progress
    assert failed.to_cached_task_status()["taskResults"][0]["fromCache"] is True
