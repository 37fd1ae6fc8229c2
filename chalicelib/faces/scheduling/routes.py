"""Scheduling face routes (Qlik Cloud Scheduling Tasks API, seed 000): the routes modules of
this package register themselves on `face` when imported here."""

from __future__ import annotations

from chalicelib.faces.scheduling.face import face

__all__ = ["face"]
