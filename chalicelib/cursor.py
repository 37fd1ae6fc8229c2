"""Opaque, tamper-proof pagination cursors.

A cursor is the JSON of a position (typically DynamoDB's `LastEvaluatedKey`), encrypted and
authenticated with AES-256-GCM (a fresh 96-bit nonce per cursor) and base64url-encoded. The
tenant and the list it came from are its associated data: they are not stored in it, but a
cursor only decrypts for the same tenant and list. A client can neither read it (no key, tenant
or sort value shows through, as a merely signed cursor would show them) nor forge, alter or move
one to another tenant or list: each fails authentication.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.errors import ValidationError

_NONCE_BYTES = 12
_TAG_BYTES = 16
#: Cursors longer than this are refused before any decoding (a page position is small).
MAX_CURSOR_LENGTH = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encodes and decodes cursors with one secret key."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a cursor secret is required")
        self._aead = AESGCM(hashlib.sha256(("tasklane-cursor:" + secret).encode()).digest())

    def encode(self, position: Any, *, tenant: str, scope: str) -> str:
        """A cursor for `position` in list `scope` of `tenant`."""
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        nonce = os.urandom(_NONCE_BYTES)
        return _b64(nonce + self._aead.encrypt(nonce, payload, _binding(tenant, scope)))

    def decode(self, cursor: str, *, tenant: str, scope: str, location: str = "query.page") -> Any:
        """The position inside a cursor; `ValidationError` naming `location` if it was tampered with."""
        invalid = ValidationError("cursor is not valid", location=location)
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
            raise invalid
        try:
            raw = _unb64(cursor)
        except (ValueError, TypeError, binascii.Error):
            raise invalid from None
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise invalid
        try:
            payload = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _binding(tenant, scope))
            return json.loads(payload)
        except (InvalidTag, ValueError):
            # Tampered, forged, of another key, tenant or list: all look the same from here.
            raise invalid from None


def _binding(tenant: str, scope: str) -> bytes:
    return json.dumps([tenant, scope]).encode()
