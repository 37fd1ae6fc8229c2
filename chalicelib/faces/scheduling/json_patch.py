"""PATCH bodies: RFC 6902 operations applied one by one to the task as GET shows it."""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from chalicelib.errors import BadRequest, ValidationError
from chalicelib.faces.request_models import decode
from chalicelib.faces.scheduling.requests import SchedulingPatchOperation

#: The body model: an array of operations.
PATCH_BODY = list[SchedulingPatchOperation]


def apply_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations one by one, so a failure names the operation that failed
    (`body[2].path`); each is checked by its model just before it is applied."""
    if not isinstance(operations, list):
        raise BadRequest("a JSON Patch body is an array of operations")
    result = document
    for index, operation in enumerate(operations):
        where = f"body[{index}]"
        decode(SchedulingPatchOperation, operation, location=where)
        try:
            result = jsonpatch.apply_patch(result, [operation])
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise ValidationError(f"{where} cannot be applied: {exc}", location=f"{where}.path",
                                  value=operation.get("path")) from None
    return result
