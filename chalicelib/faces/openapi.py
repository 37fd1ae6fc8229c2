"""The OpenAPI 3.1 document served at /openapi.json; each face contributes its paths."""

from __future__ import annotations

from typing import Any

from chalicelib import __version__

_PATHS: dict[str, dict[str, Any]] = {}
_SCHEMAS: dict[str, Any] = {}
_TAGS: list[dict[str, str]] = []


def contribute(*, tag: str, description: str, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add a face's paths (and component schemas) to the document."""
    if not any(t["name"] == tag for t in _TAGS):
        _TAGS.append({"name": tag, "description": description})
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)
    _SCHEMAS.update(schemas or {})


def document() -> dict[str, Any]:
    """The whole document as it stands."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tasklane",
            "version": __version__,
            "description": "Task scheduler and work queue on AWS serverless primitives: one engine, four faces.",
        },
        "tags": list(_TAGS),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": dict(_SCHEMAS),
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(_PATHS.items())),
    }
