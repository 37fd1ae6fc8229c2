"""The execution face over real HTTP against `tasklane local` and a billing service on loopback.

A monthly-style strategy whose calendar steps one minute (the smallest unit a time delta has)
stands in for months, so three cycles take two minutes of wall time. Two instances run side by
side:

- `c-ok` goes through three cycles; each cycle's charge waits on an asynchronous `confirm` step
  until the test resumes it over HTTP; then the instance is canceled over HTTP, which runs its
  `onCancelTasks` (a `farewell` call to the service);
- `c-fail` gets 503 from `capture`: the event is retried a minute later, fails again, and the
  instance pauses (`pauseBeforeCancel`), its next cycle held.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.functional.execution_service import billing_service
from tests.waiting import wait_until as wait_for

pytestmark = pytest.mark.slow

SECRET = "e2e-strategy-secret"
STEPS = ("authorize", "capture", "confirm", "receipt", "farewell")


def strategy_document(service_url: str) -> dict[str, Any]:
    methods = [{"key": key, "url": f"/{key}", "method": "post"} for key in STEPS]
    methods[2]["async"] = True
    return {
        "name": "billing-e2e", "secret": SECRET,
        "settings": {
            "config": {"timezone": "UTC"},
            "schedule": {"calendars": [{"key": "monthly", "task": "charge",
                                        "scheduleAfter": {"unit": "minutes", "amount": 1}}]},
            "onCancelTasks": [{"task": "farewell"}],
            "services": [{"key": "billing", "baseUrls": [{"environment": "local", "url": service_url + "/api"}],
                          "authorization": [{"environment": "local", "url": "/token", "method": "post",
                                             "data": {"clientSecret": "e2e-client-secret"}}],
                          "credentialPath": "token", "methods": methods}],
            "actions": [{"key": key, "service": "billing", "method": key} for key in STEPS],
            "tasks": [
                {"key": "charge", "initialStep": "authorize",
                 "retryConfig": {"times": 1, "retryAfter": {"unit": "minutes", "amount": 1},
                                 "pauseBeforeCancel": True},
                 "steps": [{"key": "authorize", "action": "authorize", "nextStep": "capture"},
                           {"key": "capture", "action": "capture", "nextStep": "confirm"},
                           {"key": "confirm", "action": "confirm", "nextStep": "receipt"},
                           {"key": "receipt", "action": "receipt", "final": True}]},
                {"key": "farewell", "initialStep": "send",
                 "steps": [{"key": "send", "action": "farewell", "final": True}]},
            ],
        },
    }


def calls(service, path: str, customer: str) -> list[dict[str, Any]]:
    return [r for r in service.calls_to(f"/api/{path}")
            if (r["body"] or {}).get("instance", {}).get("attributes", {}).get("customer") == customer]


def test_a_monthly_strategy_runs_three_cycles_resumes_retries_pauses_and_cancels_over_http(runtime):
    headers = {"Strategy-Secret": base64.b64encode(SECRET.encode()).decode()}
    with billing_service() as service:
        service.rule = lambda path, body: 503 if path == "/api/capture" and \
            (body or {}).get("instance", {}).get("attributes", {}).get("customer") == "c-fail" else None
        made = runtime.post("/execution-strategy", json=strategy_document(service.url))
        assert made.status_code == 201, made.text
        start = datetime.now(UTC).isoformat()
        instances = {}
        for customer in ("c-ok", "c-fail"):
            answer = runtime.post("/execution-instance", headers=headers,
                                  json={"strategyId": "billing-e2e", "startDate": start,
                                        "attributes": {"customer": customer}})
            assert answer.status_code == 201, answer.text
            assert (answer.json()["cycle"], answer.json()["status"]) == (1, "ACTIVE")
            instances[customer] = answer.json()["sid"]

        def instance(customer: str) -> dict[str, Any]:
            answer = runtime.get(f"/execution-instance/{instances[customer]}", headers=headers)
            assert answer.status_code == 200, answer.text
            return answer.json()

        # c-ok: three cycles, each waiting on its async step until resumed over HTTP.
        for cycle in (1, 2, 3):
            confirm = service.wait_for(lambda n=cycle: len(calls(service, "confirm", "c-ok")) >= n and
                                       calls(service, "confirm", "c-ok")[n - 1], timeout=90)
            assert len(calls(service, "receipt", "c-ok")) == cycle - 1  # waits until resumed
            correlation = confirm["headers"]["X-Correlation-Id"]
            resumed = runtime.post(f"/execution-event/{correlation}/resume", headers=headers,
                                   json={"confirmed": True, "cycle": cycle})
            assert resumed.status_code == 200, resumed.text
            service.wait_for(lambda n=cycle: len(calls(service, "receipt", "c-ok")) == n, timeout=30)
            wait_for(lambda n=cycle: instance("c-ok")["cycle"] == n + 1, timeout=30)
        again = runtime.post(f"/execution-event/{correlation}/resume", headers=headers, json={})
        assert again.status_code == 409 and again.json()["statusCode"] == 409
        assert [len(calls(service, step, "c-ok")) for step in ("authorize", "capture", "receipt")] == [3, 3, 3]

        # c-fail: failed at cycle 1, retried a minute later, failed again: paused, next cycle held.
        failed = wait_for(lambda: instance("c-fail")["status"] == "PAUSED" and instance("c-fail"), timeout=120)
        assert failed["cycle"] == 2 and "cancelReason" not in failed
        assert len(calls(service, "capture", "c-fail")) == 2
        assert len(calls(service, "authorize", "c-fail")) == 1  # not called again on the retry
        held = runtime.get(f"/execution-instance/{instances['c-fail']}/get-tasks", headers=headers).json()
        assert [(e["task"], e["status"], e["createdCycle"]) for e in held] == [("charge", "PAUSED", 2)]

        # Cancel c-ok over HTTP: its onCancelTasks run after the cancellation.
        canceled = runtime.post(f"/execution-instance/{instances['c-ok']}/cancel", headers=headers)
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "CANCELED" and canceled.json()["cancelReason"] == "HTTP_REQUEST"
        assert [e["task"] for e in canceled.json()["events"]] == ["farewell"]
        service.wait_for(lambda: calls(service, "farewell", "c-ok"), timeout=30)
        assert not calls(service, "farewell", "c-fail")
        assert all(r["headers"].get("Authorization") == "Bearer svc-token-2b7e"
                   for r in service.requests if not r["path"].endswith("/token"))
