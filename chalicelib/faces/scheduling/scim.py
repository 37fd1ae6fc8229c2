"""RFC 7644 SCIM filters over a fixed set of flat fields: parse once, then match records.

The list endpoints of the Scheduling face take ``filter=`` in RFC 7644 section 3.4.2.2 syntax
over a documented set of fields. This module parses such a filter against a field table
(canonical name -> `FieldType`) and evaluates it against plain mappings. No maintained PyPI
library fits: ``scim2-filter-parser`` only transpiles to SQL / Django and silently drops
attributes it has no mapping for; ``scim2-models`` pulls in pydantic and lark and is built
around SCIM resource schemas.

Grammar (keywords, operators and field names are case-insensitive; blanks separate tokens)::

    filter     = or-expr END
    or-expr    = and-expr *( "or" and-expr )
    and-expr   = unary *( "and" unary )
    unary      = "not" "(" or-expr ")"           ; RFC 7644: not always takes parentheses
               / "(" or-expr ")"
               / comparison
    comparison = field "pr"
               / field compare-op value
    compare-op = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "ge" / "lt" / "le"
    value      = "true" / "false" / "null" / number / string
    field      = ALPHA *( ALPHA / DIGIT / "_" / "-" / "." / ":" / "$" )
    string     = a JSON string in double quotes (JSON escapes)
    number     = a JSON number

Bounds, so that no filter costs more than its answer: at most `MAX_FILTER_LENGTH` characters,
parentheses nested at most `MAX_FILTER_DEPTH` deep, numbers finite with at most
`MAX_NUMBER_DIGITS` digits; beyond them the filter is refused (422 naming ``filter``).

So precedence is ``not`` > ``and`` > ``or``. Value paths (``emails[type eq "work"]``) and
sub-attributes are not part of the documented fields and are refused.

Semantics: string comparisons fold case (the page: "All comparisons are case-insensitive");
datetimes are compared as instants, and the filter value must carry ``Z`` or an offset; boolean
fields take ``eq``/``ne``/``pr`` only (RFC 7644: ordering a boolean is an invalid filter);
``co``/``sw``/``ew`` apply to string fields only. A field that is missing, None or ``""`` is not
present: ``pr`` is false, ``eq null`` is true, ``ne`` is the negation of ``eq``, and every other
operator is false.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn

from chalicelib.engine.instants import InstantError, parse_instant
from chalicelib.errors import ValidationError
from chalicelib.timefmt import require_aware

#: Longest filter accepted, in characters.
MAX_FILTER_LENGTH = 2048
#: Deepest nesting of parentheses (``not (...)`` included).
MAX_FILTER_DEPTH = 16
#: Longest number literal accepted (digits, sign, point and exponent included).
MAX_NUMBER_DIGITS = 40


class FieldType(StrEnum):
    """How a filterable field's values are compared."""

    #: Text, compared case-insensitively.
    STRING = "string"
    #: ``true`` / ``false``; only ``eq``, ``ne`` and ``pr``.
    BOOLEAN = "boolean"
    #: An instant; filter values are ISO 8601 with ``Z`` or an offset.
    DATETIME = "datetime"
    #: An integer or decimal number.
    NUMBER = "number"


class Operator(StrEnum):
    """A SCIM attribute operator."""

    EQ = "eq"
    NE = "ne"
    CO = "co"
    SW = "sw"
    EW = "ew"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    PR = "pr"


# GET /api/scheduling/tasks, .../graphs/children and .../graphs/parents, `filter` query parameter:
# "Advanced filter expression using RFC 7644 SCIM syntax. [...] All comparisons are case-insensitive.
# Supported fields: `name`, `enabled`, `resourceId`, `ownerId`, `spaceId`, `createdAt`, `updatedAt`,
# `updatedBy`, `lastStatus`, `lastTriggeredBy`, `lastStartedAt`, `lastEndedAt`, `lastExecutedAs`, and
# `triggerType`." (seed 000). Types follow the task document: `enabled` is a boolean, the `...At`
# fields are UTC timestamps, `triggerType` is `metadata.trigger.type` (an integer, enum 0-4).
TASK_FILTER_FIELDS: dict[str, FieldType] = {
    "name": FieldType.STRING,
    "enabled": FieldType.BOOLEAN,
    "resourceId": FieldType.STRING,
    "ownerId": FieldType.STRING,
    "spaceId": FieldType.STRING,
    "createdAt": FieldType.DATETIME,
    "updatedAt": FieldType.DATETIME,
    "updatedBy": FieldType.STRING,
    "lastStatus": FieldType.STRING,
    "lastTriggeredBy": FieldType.STRING,
    "lastStartedAt": FieldType.DATETIME,
    "lastEndedAt": FieldType.DATETIME,
    "lastExecutedAs": FieldType.STRING,
    "triggerType": FieldType.NUMBER,
}

# The same three endpoints, `sort` query parameter: each field below with a `+` or `-` prefix;
# "Defaults to `-updatedAt`." (seed 000).
TASK_SORT_FIELDS: tuple[str, ...] = (
    "createdAt", "enabled", "name", "ownerId", "resourceId", "spaceId", "updatedAt", "updatedBy",
    "lastStatus", "lastTriggeredBy", "lastStartedAt", "lastEndedAt", "lastExecutedAs", "triggerType",
)  # fmt: skip
DEFAULT_TASK_SORT = "-updatedAt"

# GET /api/scheduling/tasks/{id}/runs and /api/scheduling/tasks/resources/{id}/runs take no
# `filter`; their `sort` enum is these fields with `+`/`-`, "Defaults to `-startedAt`." (seed 000).
RUN_SORT_FIELDS: tuple[str, ...] = ("startedAt", "endedAt", "status", "taskId", "actionId")
DEFAULT_RUN_SORT = "-startedAt"


_SUBSTRING = frozenset({Operator.CO, Operator.SW, Operator.EW})
_ALLOWED: dict[FieldType, frozenset[Operator]] = {
    FieldType.STRING: frozenset(Operator),
    FieldType.BOOLEAN: frozenset({Operator.EQ, Operator.NE, Operator.PR}),
    FieldType.DATETIME: frozenset(Operator) - _SUBSTRING,
    FieldType.NUMBER: frozenset(Operator) - _SUBSTRING,
}


# -- the tree ---------------------------------------------------------------------------------


class Node(ABC):
    """One node of a parsed filter."""

    @abstractmethod
    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether `record` (canonical field name -> value) satisfies this node."""


@dataclass(frozen=True)
class Present(Node):
    """``field pr``: the field has a non-empty value."""

    field: str

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _present(record.get(self.field))


@dataclass(frozen=True)
class Comparison(Node):
    """``field op value``; `value` is already converted to the field's type (None for null)."""

    field: str
    field_type: FieldType
    op: Operator
    value: Any

    def matches(self, record: Mapping[str, Any]) -> bool:
        if self.op is Operator.NE:
            return not self._holds(Operator.EQ, record.get(self.field))
        return self._holds(self.op, record.get(self.field))

    def _holds(self, op: Operator, raw: Any) -> bool:
        if not _present(raw):
            return op is Operator.EQ and self.value is None
        if self.value is None:
            return False  # eq null on a present value
        actual = _coerce_record_value(raw, self.field_type)
        if actual is None:
            return False
        expected = self.value
        if self.field_type is FieldType.STRING:
            actual, expected = actual.casefold(), expected.casefold()
        return _compare(op, actual, expected)


@dataclass(frozen=True)
class And(Node):
    """Both sides match."""

    left: Node
    right: Node

    def matches(self, record: Mapping[str, Any]) -> bool:
        return self.left.matches(record) and self.right.matches(record)


@dataclass(frozen=True)
class Or(Node):
    """Either side matches."""

    left: Node
    right: Node

    def matches(self, record: Mapping[str, Any]) -> bool:
        return self.left.matches(record) or self.right.matches(record)


@dataclass(frozen=True)
class Not(Node):
    """The inner expression does not match."""

    inner: Node

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self.inner.matches(record)


@dataclass(frozen=True)
class Filter:
    """A parsed filter: the text it came from and its tree."""

    #: The filter as the client sent it.
    text: str
    root: Node

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether `record` (canonical field name -> value) satisfies the filter."""
        return self.root.matches(record)


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _compare(op: Operator, actual: Any, expected: Any) -> bool:
    if op is Operator.EQ:
        return actual == expected
    if op is Operator.CO:
        return expected in actual
    if op is Operator.SW:
        return actual.startswith(expected)
    if op is Operator.EW:
        return actual.endswith(expected)
    if op is Operator.GT:
        return actual > expected
    if op is Operator.GE:
        return actual >= expected
    if op is Operator.LT:
        return actual < expected
    return actual <= expected  # LE; NE and PR never reach here


def _coerce_record_value(raw: Any, field_type: FieldType) -> Any:
    """The record's value in the field's type, or None when it cannot be read as one."""
    if field_type is FieldType.STRING:
        return raw if isinstance(raw, str) else str(raw)
    if field_type is FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        return {"true": True, "false": False}.get(str(raw).casefold())
    if field_type is FieldType.NUMBER:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int | float):
            return raw
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None
    if isinstance(raw, datetime):
        return require_aware(raw, "record datetime")
    return _parse_instant(raw) if isinstance(raw, str) else None


def _parse_instant(text: str) -> datetime | None:
    """An aware datetime from ISO 8601 text with ``Z`` or an offset; None otherwise."""
    try:
        return parse_instant(text)
    except InstantError:
        return None


# -- the tokenizer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "number", "(", ")", "end"
    text: str
    pos: int  # 0-based offset into the filter text
    value: Any = None


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-.:$]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')


def _syntax_error(text: str, pos: int, expected: str, found: str) -> ValidationError:
    return ValidationError(
        f"invalid filter: expected {expected} at character {pos + 1}, found {found}",
        location="filter",
        value=text,
    )


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
        elif char in "()":
            tokens.append(_Token(char, char, pos))
            pos += 1
        elif char == '"':
            match = _STRING.match(text, pos)
            if match is None:
                raise _syntax_error(text, pos, "a complete JSON string (closing '\"', valid escapes)", repr(text[pos:]))
            tokens.append(_Token("string", match.group(), pos, json.loads(match.group())))
            pos = match.end()
        elif char == "-" or char.isdigit():
            match = _NUMBER.match(text, pos)
            if match is None:
                raise _syntax_error(text, pos, "a number", repr(char))
            number = match.group()
            value = float(number) if any(c in number for c in ".eE") else None
            if len(number) > MAX_NUMBER_DIGITS or (value is not None and not math.isfinite(value)):
                raise ValidationError(
                    f"invalid filter: the number at character {pos + 1} is too large "
                    f"(at most {MAX_NUMBER_DIGITS} characters, finite)",
                    location="filter", value=number[:MAX_NUMBER_DIGITS] + "...",
                )
            value = int(number) if value is None else value
            tokens.append(_Token("number", number, pos, value))
            pos = match.end()
        elif word := _WORD.match(text, pos):
            tokens.append(_Token("word", word.group(), pos))
            pos = word.end()
        else:
            hint = "a field, operator, value or parenthesis"
            if char == "'":
                hint = "a string in double quotes (single quotes are not SCIM)"
            elif char in "[]":
                hint = "a flat field name (value paths with '[...]' are not supported)"
            raise _syntax_error(text, pos, hint, repr(char))
    tokens.append(_Token("end", "", len(text)))
    return tokens


# -- the parser -------------------------------------------------------------------------------


def parse_filter(text: str, fields: Mapping[str, FieldType]) -> Filter:
    """Parse a SCIM filter over `fields` (canonical name -> type).

    Field names match case-insensitively and are mapped to their canonical spelling.
    Raises `ValidationError` (location ``filter``) for an unknown field, an operator or value
    the field's type does not take, or a syntax error (the message gives the 1-based character
    position and what was expected there).
    """
    if not isinstance(text, str):
        raise ValidationError("filter must be a string", location="filter", value=text)
    if len(text) > MAX_FILTER_LENGTH:
        raise ValidationError(f"invalid filter: longer than {MAX_FILTER_LENGTH} characters", location="filter")
    return Filter(text=text, root=_Parser(text, fields).parse())


class _Parser:
    """Recursive descent over the token list, one method per grammar rule."""

    def __init__(self, text: str, fields: Mapping[str, FieldType]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.fields = {name.casefold(): (name, kind) for name, kind in fields.items()}

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek().kind != "end":
            self.fail("'and', 'or' or the end of the filter")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.peek_keyword("or"):
            self.index += 1
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.peek_keyword("and"):
            self.index += 1
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if self.peek_keyword("not"):
            self.index += 1
            if self.peek().kind != "(":
                self.fail("'(' after 'not' (SCIM requires parentheses: not (expression))")
            return Not(self.group())
        if token.kind == "(":
            return self.group()
        return self.comparison()

    def group(self) -> Node:
        token = self.peek()  # the "(" already seen by the caller
        if self.depth >= MAX_FILTER_DEPTH:
            raise ValidationError(
                f"invalid filter: parentheses nested more than {MAX_FILTER_DEPTH} deep at character {token.pos + 1}",
                location="filter",
            )
        self.index += 1
        self.depth += 1
        node = self.or_expr()
        if self.peek().kind != ")":
            self.fail("')'")
        self.index += 1
        self.depth -= 1
        return node

    def comparison(self) -> Node:
        token = self.peek()
        if token.kind != "word" or token.text.casefold() in ("and", "or", "not"):
            self.fail("a field name or '('")
        self.index += 1
        field, field_type = self.resolve_field(token)
        op_token = self.peek()
        op = self.operator(op_token)
        self.index += 1
        if op not in _ALLOWED[field_type]:
            raise ValidationError(
                f"invalid filter: operator '{op.value}' at character {op_token.pos + 1} does not apply to "
                f"{field_type.value} field '{field}'; use one of "
                + ", ".join(sorted(o.value for o in _ALLOWED[field_type])),
                location="filter",
                value=self.text,
            )
        if op is Operator.PR:
            return Present(field)
        value = self.value(field, field_type, op)
        return Comparison(field, field_type, op, value)

    def resolve_field(self, token: _Token) -> tuple[str, FieldType]:
        entry = self.fields.get(token.text.casefold())
        if entry is None:
            known = ", ".join(name for name, _ in self.fields.values())
            raise ValidationError(
                f"invalid filter: unknown field '{token.text}' at character {token.pos + 1}; "
                f"filterable fields are: {known}",
                location="filter",
                value=token.text,
            )
        return entry

    def operator(self, token: _Token) -> Operator:
        if token.kind == "word":
            try:
                return Operator(token.text.casefold())
            except ValueError:
                pass
        self.fail("an operator (" + ", ".join(o.value for o in Operator) + ")")

    def value(self, field: str, field_type: FieldType, op: Operator) -> Any:
        token = self.peek()
        keyword = token.text.casefold() if token.kind == "word" else None
        if keyword == "null":
            if op not in (Operator.EQ, Operator.NE):
                self.fail(f"a {field_type.value} value for '{op.value}' (null only goes with eq and ne)")
            self.index += 1
            return None
        if field_type is FieldType.BOOLEAN:
            if keyword not in ("true", "false"):
                self.fail(f"true, false or null for boolean field '{field}'")
            self.index += 1
            return keyword == "true"
        if field_type is FieldType.NUMBER:
            if token.kind != "number":
                self.fail(f"a number or null for number field '{field}'")
            self.index += 1
            return token.value
        if token.kind != "string":
            self.fail(f"a double-quoted string or null for {field_type.value} field '{field}'")
        self.index += 1
        if field_type is FieldType.STRING:
            return token.value
        instant = _parse_instant(token.value)
        if instant is None:
            self.index -= 1
            self.fail(f"an ISO 8601 date-time with 'Z' or an offset for field '{field}'")
        return instant

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def peek_keyword(self, keyword: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.casefold() == keyword

    def fail(self, expected: str) -> NoReturn:
        token = self.peek()
        found = "the end of the filter" if token.kind == "end" else repr(token.text)
        raise _syntax_error(self.text, token.pos, expected, found)
