"""Defects found checking the agent face from outside against seed 001 (helper agentcheck),
each pinned here through chalice.test.Client against moto on a pinned clock."""

from __future__ import annotations

import pytest

from chalicelib.engine import pull
from tests.functional.agent_support import AGENT1, auth, claim, create, pin_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return pin_clock(monkeypatch)


def test_a_filtered_claim_finds_a_matching_run_behind_more_queue_heads_than_one_read(client, clock):
    # More non-matching runs than one claim reads as queue heads (HEADS per partition) sit
    # before the one workspace run: it is still claimable, so claim-next must not answer 204.
    for n in range(pull.HEADS * pull.QUEUE_SHARDS + 4):
        create(client, f"global {n}", priority="high")
    wanted = create(client, "in workspace", scope="workspace", workspace_id="wsA", priority="low")
    status, body = claim(client, AGENT1, workspace_id="wsA")
    assert status == 200, body
    assert body["claim"]["task"]["id"] == wanted["id"]
    status, body = claim(client, auth(user="bot", session="s9"), scope="workspace")
    assert status == 204, body  # the only workspace run is taken: nothing left for that filter
