"""Data keys in memory: wrapped by a master key that lives as long as the twin."""

from __future__ import annotations

import base64
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class MemoryDataKeys:
    """`DataKeys` with a random in-memory master key."""

    def __init__(self) -> None:
        self._master = AESGCM.generate_key(bit_length=256)

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, str]:
        key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        sealed = AESGCM(self._master).encrypt(nonce, key, json.dumps(context, sort_keys=True).encode())
        return key, "memory:" + base64.b64encode(nonce + sealed).decode()

    def unwrap_data_key(self, wrapped: str, context: dict[str, str]) -> bytes:
        raw = base64.b64decode(wrapped.removeprefix("memory:"))
        return AESGCM(self._master).decrypt(raw[:12], raw[12:], json.dumps(context, sort_keys=True).encode())
