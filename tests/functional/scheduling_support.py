"""Helpers for the scheduling face's functional tests: task bodies and a small API client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.identity import mint_token
from tests.conftest import TEST_SECRET

BASE = "/api/scheduling/tasks"


def task_body(
    name: str,
    *,
    version: str | None = "1.0.0",
    ref_name: str = "app.reload",
    app_id: str = "app-1",
    enabled: bool | None = None,
    parent: str | None = None,
    parent_status: str | None = None,
    schedule: Any = None,
    space_type: str | None = None,
) -> dict[str, Any]:
    """A valid task document: one state calling `ref_name` with `appId`."""
    action = {"name": ref_name, "functionRef": {"refName": ref_name, "arguments": {"appId": app_id}}}
    body: dict[str, Any] = {"name": name, "specVersion": "1.16.0"}
    if version is not None:
        body["version"] = version
    if enabled is not None:
        body["enabled"] = enabled
    if space_type is not None:
        body["metadata"] = {"spaceType": space_type}
    if parent is not None:
        correlation = [{"contextAttributeName": "id", "contextAttributeValue": parent}]
        if parent_status is not None:
            correlation.append({"contextAttributeName": "status", "contextAttributeValue": parent_status})
        body["events"] = [{"name": "parent-finished", "type": "com.qlik.v1.task.run.finished",
                           "source": "system-events.task", "correlation": correlation}]
        body["states"] = [{"name": "Run", "type": "event",
                           "onEvents": [{"eventRefs": ["parent-finished"], "actions": [action]}], "end": True}]
    else:
        body["states"] = [{"name": "Run", "type": "operation", "actions": [action], "end": True}]
    if schedule is not None:
        body["start"] = {"schedule": schedule, "stateName": "Run"}
    return body


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: str

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


@dataclass
class Api:
    """Calls the app as one user; `as_(...)` gives another user."""

    client: Any
    tenant: str = "acme"
    user: str = "alice"
    admin: bool = False

    def as_(self, user: str, *, tenant: str | None = None, admin: bool = False) -> Api:
        return Api(self.client, tenant or self.tenant, user, admin)

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        token = mint_token(TEST_SECRET, tenant=self.tenant, user=self.user, admin=self.admin)
        return {"Authorization": f"Bearer {token}", **(extra or {})}

    def call(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> Answer:
        extra = dict(headers or {})
        payload = None
        if body is not None:
            payload = body if isinstance(body, str) else json.dumps(body)
            extra.setdefault("Content-Type", content_type)
        response = getattr(self.client.http, method.lower())(path, headers=self.headers(extra), body=payload)
        body_text = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body_text)

    def get(self, path: str, **kw) -> Answer:
        return self.call("GET", path, **kw)

    def follow(self, href: str) -> Answer:
        """GET a `links.*.href` exactly as given (absolute or not)."""
        parts = urlsplit(href)
        return self.get(parts.path + (f"?{parts.query}" if parts.query else ""))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.call("POST", BASE, body)
        assert answer.status == 201, answer.raw
        return answer.json
