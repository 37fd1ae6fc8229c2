"""The body of a runs-queue message: which run to start. Shared by the SQS queue and its twin."""

from __future__ import annotations

import json
from typing import Any


def run_message(tenant: str, task_id: str, run_id: str) -> str:
    """The JSON body that asks a worker to start one run."""
    return json.dumps({"v": 1, "tenant": tenant, "task_id": task_id, "run_id": run_id})


def parse_run_message(payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """(tenant, task id, run id) of a run message, or None if it is not one."""
    if payload.get("v") != 1:
        return None
    try:
        return str(payload["tenant"]), str(payload["task_id"]), str(payload["run_id"])
    except KeyError:
        return None
