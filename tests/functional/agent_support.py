"""Helpers for the agent face's functional tests: tokens, calls, and a pinned clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.faces.agent import face as agent_face
from chalicelib.identity import mint_token
from tests.conftest import TEST_SECRET

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def auth(tenant: str = "acme", user: str = "alice", *, session: str | None = None) -> dict:
    """Headers of a human (no session) or of an agent session."""
    token = mint_token(TEST_SECRET, tenant=tenant, user=user, session=session,
                       actor_kind="agent_session" if session else None)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


ALICE = auth()
AGENT1 = auth(user="bot", session="s1")
AGENT2 = auth(user="bot", session="s2")
GLOBEX = auth("globex", "mallory")


def call(client, method: str, path: str, body=None, headers=None, raw: str | None = None):
    """(status, parsed JSON or text, headers)."""
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    response = getattr(client.http, method.lower())(path, headers=headers or ALICE, body=data)
    content = response.body.decode() if isinstance(response.body, bytes) else response.body
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = content
    return response.status_code, parsed, response.headers


class Clock:
    """The face's clock, moved by the test."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def pin_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Pin the face's clock at T0 for the test; the clock to move."""
    pinned = Clock()
    monkeypatch.setattr(agent_face, "clock", pinned)
    return pinned


def create(client, title: str = "task", headers=None, **fields) -> dict:
    status, body, _ = call(client, "POST", "/api/tasks", {"scope": "global", "title": title, **fields}, headers)
    assert status == 201, body
    return body["task"]


def claim(client, headers=AGENT1, **fields):
    status, body, _ = call(client, "POST", "/api/agent/tasks/claim-next", fields or None, headers)
    return status, body
