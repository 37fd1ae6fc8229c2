"""Daemon task names and the engine task ids they map to."""

from __future__ import annotations

import re

from chalicelib.errors import ValidationError

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9._:-]{1,100}$")
#: Engine task ids of daemon tasks: the name under a prefix no other face's ids use.
TASK_ID_PREFIX = "daemon:"


def task_id_for(name: str) -> str:
    """The engine task id of the daemon task `name`."""
    return TASK_ID_PREFIX + name


def name_of(task_id: str) -> str:
    """The daemon task name of an engine task id."""
    return task_id.removeprefix(TASK_ID_PREFIX)


def check_name(name: str, *, location: str = "path.taskName") -> str:
    """`name` if it is a valid task name; `ValidationError` at `location` otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValidationError("a task name is 1-100 characters of a-z A-Z 0-9 . _ : -", location=location, value=name)
    return name
