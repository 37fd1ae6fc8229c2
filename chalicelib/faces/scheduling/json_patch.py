"""PATCH bodies: RFC 6902 operations applied one by one to the task as GET shows it.

A refusal names the operation and the member at fault (`body[2].from`) in plain words; the
patch library's own texts (Python type names, a repr of the whole task) never reach a client.
"""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import jsonpointer

from chalicelib.errors import BadRequest, ValidationError
from chalicelib.faces.request_models import decode
from chalicelib.faces.scheduling.requests import SchedulingPatchOperation

#: The body model: an array of operations.
PATCH_BODY = list[SchedulingPatchOperation]

#: The members each operation needs besides `op` and `path` (RFC 6902 section 4).
_NEEDS = {"add": "value", "replace": "value", "test": "value", "move": "from", "copy": "from"}
_ABSENT = object()


def apply_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations one by one, so a failure names the operation that failed
    (`body[2].path`); each is checked by its model just before it is applied."""
    if not isinstance(operations, list):
        raise BadRequest("a JSON Patch body is an array of operations")
    result = document
    for index, operation in enumerate(operations):
        where = f"body[{index}]"
        decode(SchedulingPatchOperation, operation, location=where)
        _check_members(operation, where)
        try:
            result = jsonpatch.apply_patch(result, [operation])
        except jsonpatch.JsonPatchTestFailed:
            raise _refusal(f"{where} test failed: {operation['path'] or 'the task'} does not hold the tested value",
                           f"{where}.path", operation["path"]) from None
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException):
            raise _why_not(result, operation, where) from None
    return result


def _check_members(operation: dict[str, Any], where: str) -> None:
    """The pointers are JSON Pointers and the operation carries what its kind needs."""
    needed = _NEEDS.get(operation["op"])
    if needed is not None and needed not in operation:
        raise _refusal(f"{where}.{needed} is required for op {operation['op']!r}", f"{where}.{needed}")
    for member in ("path", "from") if needed == "from" else ("path",):
        pointer = operation[member]
        if pointer and not pointer.startswith("/"):
            raise _refusal(f"{where}.{member} must be a JSON Pointer: empty (the whole task) or starting with '/'",
                           f"{where}.{member}", pointer)


def _why_not(document: dict[str, Any], operation: dict[str, Any], where: str) -> ValidationError:
    """The refusal of an operation the library could not apply, said from the document."""
    op, path = operation["op"], operation["path"]
    source = operation.get("from")
    if source is not None and _resolve(document, source) is _ABSENT:
        return _refusal(f"{where}.from: {source} does not exist in the task", f"{where}.from", source)
    if op == "move" and source is not None and path.startswith(source + "/"):
        return _refusal(f"{where}.path: {path} is inside {source}; a value cannot move into itself",
                        f"{where}.path", path)
    if op in ("remove", "replace", "test"):
        return _refusal(f"{where}.path: {path} does not exist in the task", f"{where}.path", path)
    parent = path.rsplit("/", 1)[0]
    if _resolve(document, parent) is _ABSENT:
        return _refusal(f"{where}.path: {parent} does not exist in the task, so {path} cannot be added",
                        f"{where}.path", path)
    return _refusal(f"{where}.path: {path} is not a place a value can be put (an object member, an existing "
                    "array index, or '-' for the end of an array)", f"{where}.path", path)


def _resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer`, or `_ABSENT` when there is none (or it is not a pointer)."""
    try:
        return jsonpointer.resolve_pointer(document, pointer, default=_ABSENT)
    except (jsonpointer.JsonPointerException, TypeError, KeyError, IndexError):
        return _ABSENT


def _refusal(message: str, location: str, value: Any = None) -> ValidationError:
    shown = value if value is None or len(json.dumps(value)) <= 256 else None
    return ValidationError(message, location=location, value=shown)
