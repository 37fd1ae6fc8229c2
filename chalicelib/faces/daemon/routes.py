"""Daemon face routes (RunWisp, seeds 002 and 003), mounted under /daemon: importing this
module registers every route on `face`."""

from __future__ import annotations

from chalicelib.faces.daemon import logs_routes, runs_routes, tasks_routes  # noqa: F401 - importing registers
from chalicelib.faces.daemon.face import face

__all__ = ["face"]
