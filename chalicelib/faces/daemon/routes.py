"""Daemon face routes: importing this module registers every route on `face`."""

from __future__ import annotations

from chalicelib.faces.daemon.face import face

__all__ = ["face"]
