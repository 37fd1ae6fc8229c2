"""`runwisp.toml`: the daemon product's configuration file.

```toml
[scheduler]
timezone = "Europe/Paris"      # default zone for every cron

[defaults]                     # inherited by every task and service
timeout = "1h"

[tasks.backup]
run = "pg_dump app > /backups/app.sql"
cron = "0 3 * * *"

[services.web]
run = "python -m http.server 9000"
instances = 2
```

Parsing validates the whole file before anything is applied; an error names its key as
`tasks.backup.cron`. Where the file comes from (a local path, or `s3://bucket/key`) is the
engine's to read (engine/config_source.py).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ValidationError
from chalicelib.faces.daemon.definition import Definition, check_name, parse_definition

_SECTIONS = {"tasks": "task", "services": "service"}
_TOP_LEVEL = {"scheduler", "defaults", *_SECTIONS}


@dataclass(frozen=True, kw_only=True)
class ConfigFile:
    """Every definition of a file, by name."""

    definitions: dict[str, Definition]


def parse_config(text: str) -> ConfigFile:
    """Validate a whole file; `ValidationError` at the first bad key."""
    try:
        data = tomllib.loads(text, parse_float=_finite_float)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"the file is not valid TOML: {exc}", location="file") from None
    except _NonFinite as exc:
        raise ValidationError(f"the file has {exc.args[0]}, which is not a finite number", location="file") from None
    for key in data:
        if key not in _TOP_LEVEL:
            raise ValidationError(f"unknown section {key!r}; expected scheduler, defaults, tasks, services",
                                  location=key)
    scheduler = _table(data, "scheduler")
    for key in scheduler:
        if key != "timezone":
            raise ValidationError(f"unknown scheduler key {key!r}", location=f"scheduler.{key}")
    timezone = scheduler.get("timezone", "UTC")
    if not isinstance(timezone, str):
        raise ValidationError("timezone is a string", location="scheduler.timezone", value=timezone)
    defaults = _table(data, "defaults")
    for key in ("run", "cron", "kind"):
        if key in defaults:
            raise ValidationError(f"{key} cannot have a default", location=f"defaults.{key}")
    definitions: dict[str, Definition] = {}
    for section, kind in _SECTIONS.items():
        for name, body in _table(data, section).items():
            location = f"{section}.{name}"
            check_name(name, location=location)
            if name in definitions:
                raise ValidationError(f"{name!r} is defined twice (tasks and services share names)",
                                      location=location)
            if not isinstance(body, dict):
                raise ValidationError("a task is a table", location=location)
            definitions[name] = parse_definition(name, {**defaults, **body}, location=location, kind=kind,
                                                 default_timezone=timezone)
    return ConfigFile(definitions=definitions)


class _NonFinite(ValueError):
    """TOML takes `nan` and `inf`; tasklane refuses them as it refuses them in JSON bodies."""


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValidationError(f"{key} is a table", location=key)
    return value

