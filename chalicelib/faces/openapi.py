"""The OpenAPI 3.1 document served at /openapi.json, derived from what each face declares.

Paths and methods are the routes each face registered (`Face.route`), request bodies and query
parameters come from the routes' request models, and each face adds its tag, error answers and
response schemas (`FaceDoc`). Nothing here is written beside a route by hand.
"""

from __future__ import annotations

from typing import Any

from chalicelib import __version__
from chalicelib.faces.http import DOCUMENTED_FACES, GATEWAY_ERROR_SCHEMA


def document() -> dict[str, Any]:
    """The whole document, from every documented face created so far."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    tags: list[dict[str, str]] = []
    schemas["GatewayError"] = GATEWAY_ERROR_SCHEMA  # every guarded route's 401 without a token
    for face in DOCUMENTED_FACES:
        assert face.doc is not None
        tags.append({"name": face.doc.tag, "description": face.doc.description})
        for path, operations in face.operations().items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(face.schemas())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tasklane",
            "version": __version__,
            "description": "Task scheduler and work queue on AWS serverless primitives: one engine, four faces.",
        },
        "tags": tags,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": dict(sorted(schemas.items())),
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }
