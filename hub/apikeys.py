"""API keys for upstream services: format, hashing, scopes (pure), and their table."""
from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.errors import HubError

__all__ = [
    "ApiKey",
    "ApiKeyStore",
    "InvalidKey",
    "generate",
    "parse",
    "scope_allows",
    "validate_scope",
]

_FORMAT = re.compile(r"^hubk_([a-z0-9]{12})_([A-Za-z0-9_\-]{32,64})$")
_SCOPE = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


class InvalidKey(HubError):
    """The presented API key is malformed, unknown or revoked (callers answer 401)."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime | None = None
    revoked_at: datetime | None = None


def generate() -> tuple[str, str, bytes]:
    """A new key: (the full key to hand out once, its key id, sha256 of its secret)."""
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    return f"hubk_{key_id}_{secret}", key_id, hashlib.sha256(secret.encode()).digest()


def parse(presented: str) -> tuple[str, bytes]:
    """(key id, sha256 of the secret) of a presented key; InvalidKey if malformed."""
    m = _FORMAT.match(presented.strip())
    if not m:
        raise InvalidKey("malformed API key")
    return m.group(1), hashlib.sha256(m.group(2).encode()).digest()


def validate_scope(scope: str) -> str:
    """A scope is an event type (`invoice.issued`), a prefix pattern (`payment.*`) or `*`."""
    if not _SCOPE.match(scope):
        raise ValueError(f"scope {scope!r}: use an event type, a pattern like payment.* or *")
    return scope


def scope_allows(scopes: Sequence[str], event_type: str) -> bool:
    return any(s == "*" or s == event_type or fnmatch.fnmatchcase(event_type, s) for s in scopes)


class ApiKeyStore:
    """The `api_keys` table, with a short-lived cache so the publish path does not hit it each time."""

    def __init__(self, pool: Any, cache_ttl_s: float = 5.0) -> None:
        self._pool = pool
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, bytes, ApiKey | None]] = {}

    async def create(self, name: str, scopes: Sequence[str]) -> tuple[str, ApiKey]:
        if not name.strip():
            raise ValueError("an API key needs a name (the service that uses it)")
        if not scopes:
            raise ValueError("an API key needs at least one scope, e.g. --scope 'invoice.*'")
        for s in scopes:
            validate_scope(s)
        full, key_id, digest = generate()
        row = await self._pool.fetchrow(
            "INSERT INTO api_keys (key_id, name, secret_sha256, scopes) VALUES ($1, $2, $3, $4)"
            " RETURNING created_at",
            key_id, name.strip(), digest, list(scopes),
        )
        return full, ApiKey(key_id, name.strip(), tuple(scopes), row["created_at"])

    async def list(self) -> list[ApiKey]:
        rows = await self._pool.fetch(
            "SELECT key_id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at"
        )
        return [ApiKey(r["key_id"], r["name"], tuple(r["scopes"]), r["created_at"],
                       r["revoked_at"]) for r in rows]

    async def revoke(self, key_id: str) -> bool:
        status = await self._pool.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
        )
        self._cache.pop(key_id, None)
        return bool(status.endswith(" 1"))

    async def authenticate(self, presented: str) -> ApiKey:
        """The key's record; InvalidKey if malformed, unknown, revoked or wrong secret."""
        key_id, digest = parse(presented)
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is None or now - cached[0] > self._ttl:
            row = await self._pool.fetchrow(
                "SELECT name, secret_sha256, scopes FROM api_keys"
                " WHERE key_id = $1 AND revoked_at IS NULL", key_id,
            )
            if row is None:
                cached = (now, b"", None)
            else:
                record = ApiKey(key_id, row["name"], tuple(row["scopes"]))
                cached = (now, bytes(row["secret_sha256"]), record)
            self._cache[key_id] = cached
        _, stored, found = cached
        # Compare even for unknown ids so timing does not reveal which ids exist.
        if not hmac.compare_digest(stored or b"\0" * 32, digest) or found is None:
            raise InvalidKey("unknown or revoked API key")
        return found
