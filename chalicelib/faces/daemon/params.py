"""Declared task parameters and how their values reach the command.

A declaration has exactly one identity keyword saying how the value travels: `env` (an
environment variable), `arg` (a positional argument, in declaration order), `option`
(`--region value`, or `--region=value` when the name ends in `=`) or `flag` (a bare token when
true). Values only ever become argv entries or environment variables, never part of the shell
string, so a value like `; rm -rf /` stays an inert string.

Request semantics: a key set to null omits the parameter (overriding its default), an empty
string passes an empty value, an absent key uses the declared default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.errors import FieldProblem, ValidationError
from chalicelib.faces.daemon.requests import DaemonParam
from chalicelib.faces.request_models import decode

IDENTITIES = ("env", "arg", "option", "flag")
#: Largest value one parameter may carry, in UTF-8 bytes (an argv entry or environment value).
MAX_VALUE_BYTES = 32 * 1024
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True, kw_only=True)
class ParamDecl:
    """One declared parameter."""

    #: `env`, `arg`, `option` or `flag`.
    via: str
    #: The identity: variable name, argument name, option or flag token. Requests key values by it.
    identity: str
    default: str | None = None
    required: bool = False
    #: `string` or `number`.
    type: str = "string"
    choices: tuple[str, ...] = ()
    #: With `choices`: whether values outside them are accepted.
    allow_custom: bool = False
    description: str | None = None

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {self.via: self.identity, "type": self.type, "required": self.required}
        if self.default is not None:
            doc["default"] = self.default
        if self.choices:
            doc["choices"] = list(self.choices)
            doc["allow_custom"] = self.allow_custom
        if self.description:
            doc["description"] = self.description
        return doc


def parse_declarations(raw: Any, *, location: str) -> tuple[ParamDecl, ...]:
    """Validate a `params` list (or a table keyed by identity, as files may write it)."""
    if raw is None:
        return ()
    if isinstance(raw, dict):
        raw = [_from_table_entry(key, value, location=f"{location}.{key}") for key, value in raw.items()]
    if not isinstance(raw, list):
        raise ValidationError("params is a list of declarations", location=location, value=raw)
    declared: list[ParamDecl] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        decl = _parse_one(entry, location=f"{location}[{index}]")
        if decl.identity in seen:
            raise ValidationError(f"parameter {decl.identity!r} is declared twice", location=f"{location}[{index}]")
        seen.add(decl.identity)
        declared.append(decl)
    return tuple(declared)


def _from_table_entry(key: str, value: Any, *, location: str) -> Any:
    if not isinstance(value, dict):
        raise ValidationError("a parameter is a table such as {env = \"NAME\"}", location=location, value=value)
    if not any(k in value for k in IDENTITIES):
        return {"env": key, **value}
    return value


def _parse_one(entry: Any, *, location: str) -> ParamDecl:
    if not isinstance(entry, dict):
        raise ValidationError("a parameter is an object such as {\"env\": \"NAME\"}", location=location, value=entry)
    model = decode(DaemonParam, entry, location=location)
    vias = [k for k in IDENTITIES if getattr(model, k) is not None]
    if len(vias) != 1:
        raise ValidationError("a parameter needs exactly one of env, arg, option, flag", location=location)
    via = vias[0]
    identity = getattr(model, via)
    if not identity.strip():
        raise ValidationError(f"{via} must be a non-empty string", location=f"{location}.{via}", value=identity)
    if via == "env" and (problem := env_name_problem(identity)):
        raise ValidationError(problem, location=f"{location}.{via}", value=identity.replace("\0", "\\0"))
    if "\0" in identity:
        raise ValidationError(f"{via} must not contain a NUL character", location=f"{location}.{via}")
    if via in ("option", "flag") and not identity.startswith("-"):
        raise ValidationError(f"{via} must start with '-'", location=f"{location}.{via}", value=identity)
    default = model.default
    decl = ParamDecl(
        via=via,
        identity=identity,
        default=_text(default) if default is not None else None,
        required=bool(model.required),
        type=model.type or "string",
        choices=tuple(_text(c) for c in model.choices or []),
        allow_custom=bool(model.allow_custom),
        description=model.description,
    )
    if decl.default is not None:
        problem = _check(decl, decl.default)
        if problem:
            raise ValidationError(f"default: {problem}", location=f"{location}.default",
                                  value=None if value_problem(decl.default) else default)
    return decl


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def env_name_problem(name: str) -> str | None:
    """Why `name` cannot be an environment variable name (empty, `=` or NUL in it), or None."""
    if not name:
        return "an environment variable name is not empty"
    if "=" in name or "\0" in name:
        return "an environment variable name cannot contain '=' or a NUL character"
    return None


def value_problem(value: str) -> str | None:
    """Why `value` cannot reach a command (a NUL character, or over `MAX_VALUE_BYTES`), or None."""
    if "\0" in value:
        return "a value cannot contain a NUL character"
    if len(value.encode("utf-8", errors="surrogatepass")) > MAX_VALUE_BYTES:
        return f"a value is at most {MAX_VALUE_BYTES} bytes"
    return None


def _check(decl: ParamDecl, value: str) -> str | None:
    if problem := value_problem(value):
        return problem
    if decl.via == "flag":
        return None if value.lower() in _TRUE | _FALSE else "a flag is true or false"
    if decl.type == "number" and value != "":
        try:
            float(value)
        except ValueError:
            return "must be a number"
    if decl.choices and not decl.allow_custom and value not in decl.choices:
        return f"must be one of {', '.join(decl.choices)}"
    return None


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """What the declared parameters contribute to one run."""

    #: Argument vector entries appended after the command.
    argv: tuple[str, ...]
    #: Environment variables set for the run.
    env: dict[str, str]
    #: The effective values, by identity (what the run reports as its `params`).
    values: dict[str, str]


def resolve(decls: tuple[ParamDecl, ...], supplied: dict[str, Any] | None, *, location: str = "body.params"
            ) -> Invocation:
    """Apply request values over defaults; `ValidationError` names every bad value."""
    supplied = dict(supplied or {})
    problems: list[FieldProblem] = []
    known = {d.identity for d in decls}
    for key in supplied:
        if key not in known:
            problems.append(FieldProblem(location=f"{location}.{key}", message="no such parameter is declared"))
    values: dict[str, str] = {}
    for decl in decls:
        where = f"{location}.{decl.identity}"
        if decl.identity in supplied:
            raw = supplied[decl.identity]
            if raw is None:
                if decl.required:
                    problems.append(FieldProblem(location=where, message="this parameter is required"))
                continue
            if not isinstance(raw, str | int | float | bool):
                problems.append(FieldProblem(location=where, message="a value is a string", value=raw))
                continue
            value = _text(raw)
        elif decl.default is not None:
            value = decl.default
        else:
            if decl.required:
                problems.append(FieldProblem(location=where, message="this parameter is required"))
            continue
        problem = _check(decl, value)
        if problem:
            problems.append(FieldProblem(location=where, message=problem,
                                         value=None if value_problem(value) else value))
            continue
        values[decl.identity] = value
    if problems:
        raise ValidationError(problems[0].message, problems=problems)
    return _invocation(decls, values)


def _invocation(decls: tuple[ParamDecl, ...], values: dict[str, str]) -> Invocation:
    positional: list[str] = []
    options: list[str] = []
    env: dict[str, str] = {}
    for decl in decls:
        if decl.identity not in values:
            continue
        value = values[decl.identity]
        if decl.via == "env":
            env[decl.identity] = value
        elif decl.via == "arg":
            positional.append(value)
        elif decl.via == "option":
            options += [decl.identity + value] if decl.identity.endswith("=") else [decl.identity, value]
        elif value.lower() in _TRUE:
            options.append(decl.identity)
    return Invocation(argv=tuple(positional + options), env=env, values=values)


def scheduled_problem(decls: tuple[ParamDecl, ...]) -> str | None:
    """Why these declarations cannot sit on a scheduled task (a required one without default)."""
    for decl in decls:
        if decl.required and decl.default is None:
            return f"parameter {decl.identity!r} is required and has no default, so a scheduled run cannot supply it"
    return None
