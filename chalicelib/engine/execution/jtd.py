"""JSON Type Definition (RFC 8927) for `config.instanceValidation`: an instance's attributes
must match the strategy's schema. The forms `empty`, `type`, `enum`, `elements`, `properties`
(with `optionalProperties`, `additionalProperties`), `values` and `nullable` are supported;
`ref`/`definitions` and `discriminator` are refused when the strategy is written, so a schema is
never half enforced.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

_INTEGERS = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535),
             "int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1)}
_TYPES = {"boolean", "string", "timestamp", "float32", "float64", *_INTEGERS}
_KEYWORDS = {"nullable", "metadata", "type", "enum", "elements", "properties", "optionalProperties",
             "additionalProperties", "values"}


class SchemaProblem(ValueError):
    """A schema or a value that breaks it, located by a dotted path under the caller's root."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path} {message}")
        self.path = path
        self.message = message


def check_schema(schema: Any, path: str) -> None:
    """Refuse a schema tasklane cannot enforce whole (see the module docstring)."""
    if not isinstance(schema, dict):
        raise SchemaProblem(path, "must be a JSON Type Definition object")
    unknown = set(schema) - _KEYWORDS
    if unknown:
        raise SchemaProblem(f"{path}.{sorted(unknown)[0]}", "is not a supported JSON Type Definition keyword "
                                                            "(ref, definitions and discriminator are not)")
    forms = [key for key in ("type", "enum", "elements", "properties", "optionalProperties", "values")
             if key in schema]
    if len(forms) > 1 and not set(forms) <= {"properties", "optionalProperties"}:
        raise SchemaProblem(path, f"mixes the forms {' and '.join(forms)}; a schema has one")
    if "type" in schema and schema["type"] not in _TYPES:
        raise SchemaProblem(f"{path}.type", f"must be one of {', '.join(sorted(_TYPES))}")
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]
                             or not all(isinstance(v, str) for v in schema["enum"])):
        raise SchemaProblem(f"{path}.enum", "must be a non-empty array of strings")
    if "elements" in schema:
        check_schema(schema["elements"], f"{path}.elements")
    if "values" in schema:
        check_schema(schema["values"], f"{path}.values")
    for group in ("properties", "optionalProperties"):
        if group in schema:
            if not isinstance(schema[group], dict):
                raise SchemaProblem(f"{path}.{group}", "must be an object")
            for name, sub in schema[group].items():
                check_schema(sub, f"{path}.{group}.{name}")


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def validate(schema: dict[str, Any], value: Any, path: str) -> None:
    """`SchemaProblem` at the first place `value` breaks `schema`."""
    if value is None and schema.get("nullable"):
        return
    kind = schema.get("type")
    if kind is not None:
        ok = {
            "boolean": lambda v: isinstance(v, bool),
            "string": lambda v: isinstance(v, str),
            "timestamp": _is_timestamp,
        }.get(kind)
        if ok is None:
            ok = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
            if kind in _INTEGERS:
                low, high = _INTEGERS[kind]
                ok = lambda v, low=low, high=high: (isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
                                                    and float(v).is_integer() and low <= v <= high)
        if not ok(value):
            raise SchemaProblem(path, f"must be of type {kind}")
    elif "enum" in schema:
        if value not in schema["enum"]:
            raise SchemaProblem(path, f"must be one of {', '.join(schema['enum'])}")
    elif "elements" in schema:
        if not isinstance(value, list):
            raise SchemaProblem(path, "must be an array")
        for index, item in enumerate(value):
            validate(schema["elements"], item, f"{path}[{index}]")
    elif "values" in schema:
        if not isinstance(value, dict):
            raise SchemaProblem(path, "must be an object")
        for key, item in value.items():
            validate(schema["values"], item, f"{path}.{key}")
    elif "properties" in schema or "optionalProperties" in schema:
        if not isinstance(value, dict):
            raise SchemaProblem(path, "must be an object")
        required = schema.get("properties", {})
        optional = schema.get("optionalProperties", {})
        for name, sub in required.items():
            if name not in value:
                raise SchemaProblem(f"{path}.{name}", "is required")
            validate(sub, value[name], f"{path}.{name}")
        for name, sub in optional.items():
            if name in value:
                validate(sub, value[name], f"{path}.{name}")
        if not schema.get("additionalProperties"):
            extra = sorted(set(value) - set(required) - set(optional))
            if extra:
                raise SchemaProblem(f"{path}.{extra[0]}", "is not a known attribute")
