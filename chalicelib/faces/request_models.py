"""Request bodies and queries declared once, as msgspec Structs, for validation and for the docs.

A face declares each request body and query as a `Struct` and names it on its route
(`face.route(..., body=TaskBody, query=RunListQuery)`). The same class then validates the
request (`decode`, `decode_query`) and describes it in `/openapi.json` (`schemas`,
`query_parameters`). A `msgspec.ValidationError` becomes the faces' own `ValidationError`,
located at the field's path under the face's prefix (`body.cron`, `start.schedule.cron`,
`query.limit`) and worded from the declared type (`must be a whole number from 1 to 64`).

Conventions every model follows: an optional field is `T | None = None` (null is the same as
absent, as every face reads it), field names are the wire names (`rename` where Python cannot
spell them), and rules a type cannot state (cross-field, graph, domain parsing) stay in the
face's hand-written checks after `decode`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, NoReturn, overload

import msgspec
import msgspec.inspect as mi

from chalicelib.errors import ValidationError

#: Where the components live in the document; every model is referred to by its class name.
REF_TEMPLATE = "#/components/schemas/{name}"

_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`")
_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,20}")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@functools.cache
def _type_info(model: Any) -> Any:
    """msgspec's description of a model (it walks the model's annotations: worth doing once)."""
    return mi.type_info(model)


def decode(model: Any, data: Any, *, location: str = "") -> Any:
    """`data` (parsed JSON or TOML) as a `model`; `ValidationError` at `location.<field path>`."""
    info = _type_info(model)
    try:
        return msgspec.convert(_in_declared_order(info, data), model, strict=True)
    except msgspec.ValidationError as exc:
        raise _field_error(model, str(exc), location) from None


def _in_declared_order(info: Any, data: Any) -> Any:
    """`data` with each object's keys in the order its model declares them (unknown keys last),
    so that of several problems the first one reported does not depend on the client's key order."""
    if isinstance(data, list):
        item = _container(info, "list")
        return [_in_declared_order(item.item_type, value) for value in data] if item is not None else data
    if not isinstance(data, dict):
        return data
    holder = _container(info, "object")
    if isinstance(holder, mi.DictType):
        return {key: _in_declared_order(holder.value_type, value) for key, value in data.items()}
    if not isinstance(holder, mi.StructType):
        return data
    fields = {field.encode_name: field for field in holder.fields}
    ordered = {name: _in_declared_order(fields[name].type, data[name]) for name in fields if name in data}
    ordered.update({key: value for key, value in data.items() if key not in fields})
    return ordered


def decode_query(model: type, query: dict[str, str], *, location: str = "query") -> Any:
    """Query parameters as a `model`: an empty value is an absent one; whole numbers and
    booleans (`true`/`false`/`1`/`0`) are read from their text, anything else is refused."""
    info = _type_info(model)
    if not isinstance(info, mi.StructType):
        raise TypeError(f"{model!r} is not a msgspec Struct")
    fields = {field.encode_name: field for field in info.fields}
    values: dict[str, Any] = {}
    for name, raw in query.items():
        field = fields.get(name)
        if field is None or raw == "":
            continue
        kind = _plain(field.type)
        if isinstance(kind, mi.IntType) and _WHOLE_NUMBER.fullmatch(raw):
            values[name] = int(raw)
        elif isinstance(kind, mi.BoolType) and raw.lower() in _BOOLEANS:
            values[name] = _BOOLEANS[raw.lower()]
        else:
            values[name] = raw
    return decode(model, values, location=location)


def schemas(models: list[type]) -> dict[str, Any]:
    """The JSON Schemas of `models` (and of every type they use), keyed by class name."""
    _, components = msgspec.json.schema_components(models, ref_template=REF_TEMPLATE)
    return components


def reference(model: Any) -> dict[str, Any]:
    """The schema of a body: a `$ref` to the model's component (`list[Model]`: an array of them)."""
    (schema,), _ = msgspec.json.schema_components([model], ref_template=REF_TEMPLATE)
    return schema


def query_parameters(model: type) -> list[dict[str, Any]]:
    """OpenAPI parameter objects (`in: query`) for each field of a query model."""
    _, components = msgspec.json.schema_components([model], ref_template=REF_TEMPLATE)
    properties = components[model.__name__].get("properties", {})
    required = set(components[model.__name__].get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": _non_null(schema)}
            for name, schema in properties.items()]


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: `anyOf [T, null]` documented as `T`."""
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
        return {**options[0], **rest, **({"default": schema["default"]} if schema.get("default") is not None else {})}
    return schema


# -- msgspec's error, in the face's words ------------------------------------------------------


def _field_error(model: type, text: str, location: str) -> ValidationError:
    message, _, where = text.partition(" - at `")
    parts = [(name, index) for name, index in _PATH_PART.findall(where.rstrip("`").removeprefix("$"))]
    if missing := _MISSING.match(message):
        parts.append((missing.group(1), ""))
        rule = "is required"
    elif unknown := _UNKNOWN.match(message):
        parts.append((unknown.group(1), ""))
        rule = f"is not a known key (unknown key {unknown.group(1)!r})"
    else:
        rule = _rule(_type_at(_type_info(model), parts), message)
    path = _join(location, parts)
    return ValidationError(f"{path or 'body'} {rule}", location=path or location or "body")


def _join(location: str, parts: list[tuple[str, str]]) -> str:
    path = location
    for name, index in parts:
        if index == "...":
            break  # a value of a table: the table is named
        if index:
            path += f"[{index}]"
        else:
            path = f"{path}.{name}" if path else name
    return path


def _type_at(info: Any, parts: list[tuple[str, str]]) -> Any:
    """The declared type at a path, or None where the path leaves the declaration."""
    for name, index in parts:
        info = _container(info, "list" if index and index != "..." else "object")
        if isinstance(info, mi.StructType):
            info = next((f.type for f in info.fields if f.encode_name == name), None)
        elif isinstance(info, (mi.ListType, mi.DictType)):
            info = info.item_type if isinstance(info, mi.ListType) else info.value_type
        else:
            return None
    return info


def _bare(info: Any) -> Any:
    """The type under its `Annotated[..., Meta(description=...)]` wrapper."""
    while isinstance(info, mi.Metadata):
        info = info.type
    return info


def _container(info: Any, kind: str) -> Any:
    """The member of a union that holds a `kind` (list or object)."""
    wanted = (mi.ListType,) if kind == "list" else (mi.StructType, mi.DictType)
    info = _bare(info)
    if isinstance(info, mi.UnionType):
        return next((_bare(option) for option in info.types if isinstance(_bare(option), wanted)), None)
    return info if isinstance(info, wanted) else None


def _plain(info: Any) -> Any:
    """`T` from `T | None` (and from its `Annotated` wrapper)."""
    info = _bare(info)
    if isinstance(info, mi.UnionType):
        options = [_bare(option) for option in info.types if not isinstance(_bare(option), mi.NoneType)]
        return options[0] if len(options) == 1 else mi.UnionType(types=tuple(options))
    return info


def _rule(info: Any, message: str) -> str:
    """What a value at this place must be."""
    info = _plain(info)
    if isinstance(info, mi.UnionType):
        return "must be " + " or ".join(_noun(option) for option in info.types)
    if isinstance(info, (mi.EnumType, mi.LiteralType)):
        values = [member.value for member in info.cls] if isinstance(info, mi.EnumType) else list(info.values)
        return "must be one of " + ", ".join(str(value) for value in values)
    if isinstance(info, (mi.IntType, mi.FloatType)):
        return "must be " + _noun(info) + _bounds(info)
    if isinstance(info, mi.StrType):
        if info.min_length and "length" in message:
            return "must not be empty"
        if info.max_length is not None and "length" in message:
            return f"must be at most {info.max_length} characters"
        if info.pattern is not None and "regex" in message:
            return f"must match {info.pattern}"
    # Where the path leaves the declaration, say so plainly rather than pass on codec text.
    return "must be " + _noun(info) if info is not None else "is not valid here"


def _bounds(info: mi.IntType | mi.FloatType) -> str:
    if info.ge is not None and info.le is not None:
        return f" from {info.ge} to {info.le}"
    if info.ge is not None:
        return f" of at least {info.ge}"
    return f" of at most {info.le}" if info.le is not None else ""


def _noun(info: Any) -> str:
    nouns = [
        (mi.StrType, "a string"), (mi.BoolType, "true or false"), (mi.IntType, "a whole number"),
        (mi.FloatType, "a number"), (mi.ListType, "an array"), (mi.StructType, "an object"),
        (mi.DictType, "an object"), (mi.EnumType, "one of the listed values"),
        (mi.LiteralType, "one of the listed values"),
    ]
    return next((noun for kind, noun in nouns if isinstance(info, kind)), "of the documented type")


# -- checks past the model -----------------------------------------------------------------------


def refuse(path: str, message: str, value: Any = None) -> NoReturn:
    """Refuse the value at `path` (a rule the model cannot state): `ValidationError` located there."""
    raise ValidationError(f"{path} {message}", location=path, value=value)


@overload
def filled(value: str, path: str) -> str: ...
@overload
def filled(value: None, path: str) -> None: ...
@overload
def filled(value: str | None, path: str) -> str | None: ...
def filled(value: str | None, path: str) -> str | None:
    """`value` unless it is blank (a model states the type, not that the text says something)."""
    if value is not None and not value.strip():
        refuse(path, "must not be empty", value)
    return value


def one_of(value: str | None, allowed: Iterable[str], path: str, *, fold: bool = False) -> str | None:
    """The allowed spelling of `value` (compared case-insensitively with `fold`), None for None."""
    if value is None:
        return None
    options = [str(option) for option in allowed]
    for option in options:
        if value == option or (fold and value.casefold() == option.casefold()):
            return option
    refuse(path, "must be one of " + ", ".join(sorted(options)), value)
