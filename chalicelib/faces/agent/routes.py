"""Agent face routes (AGH Runtime, seed 001), mounted at the page's own paths: importing this
module registers every route on `face`."""

from __future__ import annotations

from chalicelib.faces.agent import (  # noqa: F401 - importing registers
    lease_routes,
    observe,
    runs_routes,
    tasks_routes,
    timeline_routes,
)
from chalicelib.faces.agent.face import face

__all__ = ["face"]
