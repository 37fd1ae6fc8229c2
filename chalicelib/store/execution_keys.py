"""Data keys for the execution product's sealed secrets: AWS KMS deployed, a key file locally.

`from_environment()` picks one: `TASKLANE_EXECUTION_KMS_KEY_ID` (a KMS key id, ARN or alias:
`GenerateDataKey` / `Decrypt` with the tenant and strategy as encryption context), else
`TASKLANE_EXECUTION_KEY_FILE` (a 32-byte master key, created with mode 0600 when missing; the
local runtime sets it), else none: sealing then fails saying what to set.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib import settings
from chalicelib.errors import TasklaneError


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


class KmsDataKeys:
    """Data keys from AWS KMS (the key policy and the role's `kms:GenerateDataKey` /
    `kms:Decrypt` permission decide who may unwrap them)."""

    def __init__(self, key_id: str) -> None:
        self._key_id = key_id
        self._client: Any = None
        self._lock = threading.Lock()

    def _kms(self) -> Any:
        with self._lock:
            if self._client is None:
                from chalicelib.store.clients import aws_client

                current = settings.current()
                self._client = aws_client("kms", region=current.region, endpoint_url=current.endpoint_url)
            return self._client

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, str]:
        answer = self._kms().generate_data_key(KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context)
        return bytes(answer["Plaintext"]), "kms:" + base64.b64encode(answer["CiphertextBlob"]).decode()

    def unwrap_data_key(self, wrapped: str, context: dict[str, str]) -> bytes:
        if not wrapped.startswith("kms:"):
            raise TasklaneError("this secret was sealed with another kind of key than KMS")
        blob = base64.b64decode(wrapped[4:])
        return bytes(self._kms().decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"])


class FileDataKeys:
    """Data keys wrapped by a master key kept in a file readable by its owner only."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._master: bytes | None = None
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        with self._lock:
            if self._master is None:
                self._master = ensure_key_file(self._path)
            return self._master

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, str]:
        key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        sealed = AESGCM(self._key()).encrypt(nonce, key, _aad(context))
        return key, "file:" + base64.b64encode(nonce + sealed).decode()

    def unwrap_data_key(self, wrapped: str, context: dict[str, str]) -> bytes:
        if not wrapped.startswith("file:"):
            raise TasklaneError("this secret was sealed with another kind of key than the key file")
        raw = base64.b64decode(wrapped[5:])
        return AESGCM(self._key()).decrypt(raw[:12], raw[12:], _aad(context))


def ensure_key_file(path: Path) -> bytes:
    """The 32-byte key in `path`, created (mode 0600, never widened) when it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != 32:
            raise TasklaneError(f"the execution key file {path} does not hold a 32-byte key") from None
        return key
    key = AESGCM.generate_key(bit_length=256)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


class NoDataKeys:
    """No key configured: sealing a secret fails saying what to set."""

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, str]:
        raise TasklaneError("no key for execution secrets: set TASKLANE_EXECUTION_KMS_KEY_ID (deployed) "
                            "or TASKLANE_EXECUTION_KEY_FILE")

    def unwrap_data_key(self, wrapped: str, context: dict[str, str]) -> bytes:
        return self.new_data_key(context)[0]


class EnvironmentDataKeys:
    """The data keys the environment names, chosen when first used (not at import)."""

    def __init__(self) -> None:
        self._chosen: tuple[tuple[str, str], KmsDataKeys | FileDataKeys | NoDataKeys] | None = None
        self._lock = threading.Lock()

    def _keys(self) -> KmsDataKeys | FileDataKeys | NoDataKeys:
        wanted = (os.environ.get("TASKLANE_EXECUTION_KMS_KEY_ID", ""),
                  os.environ.get("TASKLANE_EXECUTION_KEY_FILE", ""))
        with self._lock:
            if self._chosen is None or self._chosen[0] != wanted:
                kms_key, key_file = wanted
                keys: KmsDataKeys | FileDataKeys | NoDataKeys = (
                    KmsDataKeys(kms_key) if kms_key else FileDataKeys(key_file) if key_file else NoDataKeys())
                self._chosen = (wanted, keys)
            return self._chosen[1]

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, str]:
        return self._keys().new_data_key(context)

    def unwrap_data_key(self, wrapped: str, context: dict[str, str]) -> bytes:
        return self._keys().unwrap_data_key(wrapped, context)
