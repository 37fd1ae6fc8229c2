"""A strategy document and request helpers for the execution face's tests."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

SECRET = "s3cret-for-billing"


def secret_header(secret: str = SECRET) -> str:
    return base64.b64encode(secret.encode()).decode()


def strategy(name: str = "billing", *, version: int = 1, secret: str = SECRET, **overrides: Any) -> dict[str, Any]:
    """A monthly billing strategy: charge (three steps) on each main date, a reminder three days
    before, a welcome on creation, a farewell on cancel."""
    body: dict[str, Any] = {
        "name": name, "secret": secret, "version": version,
        "settings": {
            "config": {"timezone": "UTC"},
            "schedule": {"calendars": [{"key": "monthly", "scheduleAfter": {"unit": "months", "amount": 1},
                                        "task": "charge",
                                        "leadingUpTasks": [{"task": "remind",
                                                            "scheduleBefore": {"unit": "days", "amount": 3}}]}]},
            "onCreateTasks": [{"task": "welcome"}],
            "onCancelTasks": [{"task": "farewell", "delayBy": {"unit": "minutes", "amount": 5}}],
            "services": [{"key": "billing", "baseUrls": [{"environment": "test", "url": "http://127.0.0.1:9/api"}],
                          "authorization": [{"environment": "test", "url": "/token", "method": "post",
                                             "data": {"clientSecret": "very-private-value"}}],
                          "credentialPath": "token", "credentialType": "Bearer",
                          "methods": [{"key": "charge", "url": "/charge", "method": "post"},
                                      {"key": "notify", "url": "/notify", "method": "post"}]}],
            "actions": [{"key": "charge", "service": "billing", "method": "charge", "data": {"amount": 10}},
                        {"key": "notify", "service": "billing", "method": "notify"}],
            "tasks": [
                {"key": "charge", "initialStep": "authorize", "retryConfig": {"times": 2},
                 "steps": [{"key": "authorize", "action": "charge", "nextStep": "capture"},
                           {"key": "capture", "action": "charge", "nextStep": "receipt"},
                           {"key": "receipt", "action": "notify", "final": True}]},
                {"key": "remind", "initialStep": "send", "steps": [{"key": "send", "action": "notify", "final": True}]},
                {"key": "welcome", "initialStep": "send",
                 "steps": [{"key": "send", "action": "notify", "final": True}]},
                {"key": "farewell", "initialStep": "send",
                 "steps": [{"key": "send", "action": "notify", "final": True}]},
            ],
            "encryptedSettings": {"apiKey": "another-private-value"},
        },
    }
    for path, value in overrides.items():
        set_path(body, path, value)
    return body


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    """Set `a.b[0].c` in `body` (value `DELETE` removes the key)."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    target: Any = body
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value == "DELETE":
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


def variant(**overrides: Any) -> dict[str, Any]:
    return copy.deepcopy(strategy(**overrides))


def call(client: Any, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    """(status, parsed JSON) of one request."""
    sender = getattr(client.http, method.lower())
    kwargs: dict[str, Any] = {"headers": {**headers, "Content-Type": "application/json"}}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    response = sender(path, **kwargs)
    return response.status_code, json.loads(response.body) if response.body else None
