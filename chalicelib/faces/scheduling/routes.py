"""Scheduling face routes (Qlik Cloud Scheduling Tasks API, seed 000): the routes modules of
this package register themselves on `face` when imported here."""

from __future__ import annotations

# Imported for their side effect: each module declares its routes on `face` (and the OpenAPI
# module contributes the face's paths).
from chalicelib.faces.scheduling import graphs_routes, runs_routes, tasks_routes  # noqa: F401
from chalicelib.faces.scheduling.face import face

__all__ = ["face"]
