"""Opaque, tamper-proof pagination cursors.

A cursor is the JSON of a position (typically DynamoDB's `LastEvaluatedKey`) bound to the tenant
and the list it came from, signed with HMAC-SHA256 and base64url-encoded. A client can neither
read meaning into it nor forge one that points into another tenant's keys or another list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.errors import ValidationError

_SIG_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encodes and decodes cursors with one secret key."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a cursor secret is required")
        self._key = hashlib.sha256(("tasklane-cursor:" + secret).encode()).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIG_BYTES]

    def encode(self, position: Any, *, tenant: str, scope: str) -> str:
        """A cursor for `position` in list `scope` of `tenant`."""
        payload = json.dumps({"t": tenant, "s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        return _b64(self._sign(payload) + payload)

    def decode(self, cursor: str, *, tenant: str, scope: str, location: str = "query.page") -> Any:
        """The position inside a cursor; `ValidationError` naming `location` if it was tampered with."""
        try:
            raw = _unb64(cursor)
        except (ValueError, TypeError) as exc:
            raise ValidationError("cursor is not valid", location=location) from exc
        sig, payload = raw[:_SIG_BYTES], raw[_SIG_BYTES:]
        if len(sig) != _SIG_BYTES or not hmac.compare_digest(sig, self._sign(payload)):
            raise ValidationError("cursor is not valid", location=location)
        data = json.loads(payload)
        if data.get("t") != tenant or data.get("s") != scope:
            raise ValidationError("cursor does not belong to this list", location=location)
        return data["p"]
