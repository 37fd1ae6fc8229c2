"""The function table: how a named action (`app.reload`) becomes an executor call.

The deployer configures it with `TASKLANE_FUNCTIONS` (JSON) or `TASKLANE_FUNCTIONS_FILE` (a path
to JSON), mapping a name to an executor and its configuration:

    {"app.reload": {"executor": "http",
                    "config": {"method": "POST", "url": "https://reloader.internal/reload",
                               "headers": {"Content-Type": "application/json"}}}}

An entry may carry more keys, which the engine passes over and a face may read (`entry`): the
scheduling face reports one as its runs' worker type.

The action's `arguments` become the HTTP body (http), keyword arguments (python), or JSON in
the `TASKLANE_ARGUMENTS` environment variable (command). An unknown name fails the run with a
message that says so; it never "succeeds".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chalicelib.errors import ValidationError


def table() -> dict[str, dict[str, Any]]:
    """The configured function table (read on each call, so a changed file applies at once)."""
    raw = os.environ.get("TASKLANE_FUNCTIONS")
    path = os.environ.get("TASKLANE_FUNCTIONS_FILE")
    if not raw and path:
        raw = Path(path).read_text(encoding="utf-8")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValidationError(f"the function table is not valid JSON: {exc}", location="TASKLANE_FUNCTIONS") from exc
    if not isinstance(data, dict):
        raise ValidationError("the function table must be a JSON object", location="TASKLANE_FUNCTIONS")
    return data


def entry(ref_name: str) -> dict[str, Any]:
    """The table's entry for a function name, as configured; empty when the name has none."""
    found = table().get(ref_name)
    return dict(found) if isinstance(found, dict) else {}


def resolve(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(executor kind, executor config) for `{"ref_name", "arguments"}`; `ValidationError` if unknown."""
    ref_name = config.get("ref_name")
    if not ref_name:
        raise ValidationError("the task has no action to run: none of its states calls a function")
    entry = table().get(ref_name)
    if not isinstance(entry, dict) or "executor" not in entry:
        raise ValidationError(
            f"function '{ref_name}' is not configured in the function table (TASKLANE_FUNCTIONS)",
            location="ref_name",
        )
    kind = entry["executor"]
    resolved = dict(entry.get("config") or {})
    arguments = config.get("arguments") or {}
    if kind == "http":
        resolved.setdefault("method", "POST")
        resolved["body"] = json.dumps(arguments)
        resolved.setdefault("headers", {}).setdefault("Content-Type", "application/json")
    elif kind == "python":
        resolved["kwargs"] = {**resolved.get("kwargs", {}), **arguments}
    elif kind == "command":
        resolved["env"] = {**resolved.get("env", {}), "TASKLANE_ARGUMENTS": json.dumps(arguments)}
    return kind, resolved
