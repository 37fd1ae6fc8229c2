"""Daemon face routes (RunWisp, seeds 002 and 003), mounted under /daemon: importing this
module registers every route on `face`."""

from __future__ import annotations

from chalicelib.faces.daemon import (  # noqa: F401 - importing registers the routes and docs
    logs_routes,
    openapi_doc,
    runs_routes,
    tasks_routes,
)
from chalicelib.faces.daemon.face import face

__all__ = ["face"]
