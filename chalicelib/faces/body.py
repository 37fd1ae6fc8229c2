"""Reading request bodies: one size limit, checked before parsing, and strict JSON.

Every face reads its bodies through here (`Call.json_body` and the face wrapper), so the limits
hold on every route and each refusal is a 4xx naming the field, in the face's own error shape:

- a body over `MAX_BODY_BYTES` is refused (413) before it is decoded or parsed;
- JSON must be RFC 8259 JSON: `NaN`, `Infinity` and `-Infinity` (which Python's parser takes
  and strict clients then choke on when we echo them back) are refused, as are numbers that
  overflow to infinity and integers longer than DynamoDB stores exactly;
- nesting deeper than `MAX_JSON_DEPTH` is refused, before anything recursive walks it;
- text must be UTF-8 and strings must be encodable (no lone surrogates such as `"\\ud800"`).

Messages are plain and name the field (`body.states[0].name`); no parser or codec text leaks.
"""

from __future__ import annotations

import json
import math
from typing import Any

from chalicelib.errors import BadRequest, FieldProblem, PayloadTooLarge

#: Largest request body any route takes, in bytes (256 KiB): below DynamoDB's 400 KB item limit
#: with room for the fields the service adds, and far above any task definition seen in use.
MAX_BODY_BYTES = 256 * 1024
#: Deepest nesting of objects and arrays a JSON body may have.
MAX_JSON_DEPTH = 32
#: Longest integer literal accepted: DynamoDB keeps 38 significant digits.
MAX_INTEGER_DIGITS = 38
_TOO_DEEP = f"must not nest objects and arrays more than {MAX_JSON_DEPTH} levels deep"


def check_size(raw: bytes | str | None, declared_length: str | None) -> None:
    """`PayloadTooLarge` if the body, or the length its sender declared, exceeds the limit."""
    declared = (declared_length or "").strip()
    if declared.isdigit() and (len(declared) > 12 or int(declared) > MAX_BODY_BYTES):
        raise _too_large()
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise _too_large()


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than {MAX_BODY_BYTES} bytes",
        problems=[FieldProblem(location="body", message=f"must be at most {MAX_BODY_BYTES} bytes")],
    )


class _Refused:
    """Stands in for a number the parser met but JSON does not allow; the walk names its field."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number; send a finite number or a string")


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("must be a finite number")


def _int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        return _Refused(f"must have at most {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _bad(location: str, message: str) -> BadRequest:
    return BadRequest(f"{location}: {message}", problems=[FieldProblem(location=location, message=message)])


def parse_json(raw: bytes | str) -> Any:
    """The body as strict JSON; `BadRequest` naming the offending field otherwise."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("body", "must be UTF-8 text") from None
    else:
        text = raw
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise _bad("body", _TOO_DEEP) from None
    except json.JSONDecodeError as exc:
        raise _bad("body", f"must be JSON ({exc.msg.lower()} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError:
        raise _bad("body", "must be JSON") from None
    _check_values(value)
    return value


def _check_values(root: Any) -> None:
    """Walk the parsed value without recursion: depth, refused numbers, unencodable strings."""
    stack: list[tuple[Any, str, int]] = [(root, "body", 0)]
    while stack:
        value, location, depth = stack.pop()
        if isinstance(value, _Refused):
            raise _bad(location, value.reason)
        if isinstance(value, str):
            _check_text(value, location)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _bad(location, _TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, location)
                stack.append((item, f"{location}.{key[:64]}", depth + 1))
        else:
            stack.extend((item, f"{location}[{index}]", depth + 1) for index, item in enumerate(value))


def _check_text(text: str, location: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(location, "must not contain lone surrogate escapes (\\ud800-\\udfff)") from None
