"""The execution product's secrets: the strategy secret (hashed) and the sealed settings.

The strategy secret is kept only as `sha256(salt + secret)`; a call presents it base64-encoded
in `Strategy-Secret`, and `secret_matches` compares digests with `hmac.compare_digest` (the
digest is computed even when nothing was presented, so a refusal takes as long either way).

Service `authorization` entries and `encryptedSettings` are sealed with AES-256-GCM under a data
key of the strategy version (envelope encryption: the key itself is wrapped by KMS deployed or
the local key file, `ports.DataKeys`), bound by associated data to tenant, strategy, version and
place, so a sealed value moved elsewhere does not open. The stored settings keep the entries
with every credential value replaced by `REDACTED`; only the worker opens the seal
(`decrypt_service_auth`, `decrypt_settings`), and nothing opened is returned or logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.engine import backend
from chalicelib.engine.execution.definition import ExecutionAuthorization, ExecutionSettings
from chalicelib.engine.execution.values import StoredStrategy
from chalicelib.errors import TasklaneError

#: What a credential value reads as wherever settings are shown.
REDACTED = "***"


def new_salt() -> str:
    return os.urandom(16).hex()


def hash_secret(secret: str, salt: str) -> str:
    """The stored form of a strategy secret."""
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def presented_secret(header: str | None) -> str | None:
    """The secret a `Strategy-Secret` header carries (base64 of UTF-8 text), None if unreadable."""
    if not header:
        return None
    try:
        return base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def secret_matches(strategy: StoredStrategy, header: str | None) -> bool:
    """Whether the header presents the strategy's secret, compared in constant time."""
    candidate = presented_secret(header)
    digest = hash_secret(candidate if candidate is not None else "", strategy.secret_salt)
    return hmac.compare_digest(digest, strategy.secret_hash) and candidate is not None


def _context(tenant: str, sid: str, version: int) -> dict[str, str]:
    return {"tenant": tenant, "strategy": sid, "version": str(version)}


def _aad(tenant: str, sid: str, version: int, place: str) -> bytes:
    return f"{tenant}/{sid}/{version}/{place}".encode()


def _seal(key: bytes, value: Any, aad: bytes) -> dict[str, str]:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(value).encode(), aad)
    return {"iv": base64.b64encode(nonce).decode(), "hash": base64.b64encode(sealed[-16:]).decode(),
            "encryptedText": base64.b64encode(sealed[:-16]).decode()}


def _open(key: bytes, envelope: dict[str, str], aad: bytes) -> Any:
    try:
        nonce = base64.b64decode(envelope["iv"])
        sealed = base64.b64decode(envelope["encryptedText"]) + base64.b64decode(envelope["hash"])
        return json.loads(AESGCM(key).decrypt(nonce, sealed, aad))
    except (InvalidTag, KeyError, ValueError) as exc:
        raise TasklaneError("a sealed execution secret does not open") from exc


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: REDACTED for key in value}
    return value


def seal_settings(tenant: str, sid: str, version: int, settings: ExecutionSettings
                  ) -> tuple[ExecutionSettings, dict[str, dict[str, str]], dict[str, str] | None, str | None]:
    """(settings safe to store and show, sealed authorization per service key, sealed
    encryptedSettings, the wrapped data key); nothing is sealed (no key asked for) when the
    strategy holds no secret."""
    secret_services = [s for s in settings.services if s.authorization]
    if not secret_services and settings.encrypted_settings is None:
        return settings, {}, None, None
    key, wrapped = backend.current().execution_keys.new_data_key(_context(tenant, sid, version))
    sealed_auth: dict[str, dict[str, str]] = {}
    services = []
    for service in settings.services:
        if service.authorization:
            sealed_auth[service.key] = _seal(key, msgspec.to_builtins(service.authorization),
                                             _aad(tenant, sid, version, f"service:{service.key}"))
            shown = [msgspec.structs.replace(auth, headers=_redacted(auth.headers), params=_redacted(auth.params),
                                             data=_redacted(auth.data), attributes=_redacted(auth.attributes))
                     for auth in service.authorization]
            service = msgspec.structs.replace(service, authorization=shown)
        services.append(service)
    sealed_settings = None
    if settings.encrypted_settings is not None:
        sealed_settings = _seal(key, settings.encrypted_settings, _aad(tenant, sid, version, "settings"))
    safe = msgspec.structs.replace(settings, services=services, encrypted_settings=sealed_settings)
    return safe, sealed_auth, sealed_settings, wrapped


def _data_key(tenant: str, strategy: StoredStrategy) -> bytes:
    if strategy.wrapped_key is None:
        raise TasklaneError(f"strategy {strategy.sid} version {strategy.version} holds no sealed secret")
    return backend.current().execution_keys.unwrap_data_key(strategy.wrapped_key,
                                                            _context(tenant, strategy.sid, strategy.version))


def decrypt_service_auth(tenant: str, strategy: StoredStrategy, service_key: str,
                         environment: str) -> ExecutionAuthorization | None:
    """The service's authorization entry for `environment`, opened (worker only; never return
    or log it); None when the service has none for that environment."""
    envelope = strategy.sealed_authorization.get(service_key)
    if envelope is None:
        return None
    entries = _open(_data_key(tenant, strategy), envelope,
                    _aad(tenant, strategy.sid, strategy.version, f"service:{service_key}"))
    for entry in msgspec.convert(entries, list[ExecutionAuthorization]):
        if entry.environment == environment:
            return entry
    return None


def decrypt_settings(tenant: str, strategy: StoredStrategy) -> dict[str, Any] | None:
    """The strategy's `encryptedSettings` object, opened (worker only); None when it has none."""
    if strategy.sealed_settings is None:
        return None
    opened: dict[str, Any] = _open(_data_key(tenant, strategy), strategy.sealed_settings,
                                   _aad(tenant, strategy.sid, strategy.version, "settings"))
    return opened
