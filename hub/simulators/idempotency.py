"""Idempotency keys the way Stripe keeps them.

The first request with a key reserves it; its answer is saved once the endpoint ran.
Same key and same request: the saved answer is replayed. Same key, other request:
an idempotency error. Same key while the first is still running: a conflict.
Answers to requests that failed validation are not saved, so a corrected retry works.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import orjson

__all__ = ["IdempotencyStore", "Lookup", "SavedAnswer", "fingerprint"]


@dataclass(frozen=True, slots=True)
class SavedAnswer:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Lookup:
    """What to do with a request carrying a key.

    "new": the key is now reserved for this request; call `save` or `release`.
    "replay": answer `saved`. "mismatch": the key was used for another request.
    "in_flight": a request with the key is still running.
    """

    verdict: Literal["new", "replay", "mismatch", "in_flight"]
    saved: SavedAnswer | None = None


def fingerprint(method: str, path: str, params: Any) -> str:
    """A digest of what makes two requests "the same": method, path and parameters.

    Scalars are compared as text, so `amount=1000` in a form equals `"amount": 1000`
    in JSON, as they do for Stripe.
    """
    canonical = orjson.dumps(_as_text(params), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class IdempotencyStore:
    """In-memory, never expires (a simulator run is shorter than Stripe's 24 hours)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, SavedAnswer | None]] = {}

    def begin(self, key: str, request_fingerprint: str) -> Lookup:
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = (request_fingerprint, None)
            return Lookup("new")
        known_fingerprint, saved = entry
        if known_fingerprint != request_fingerprint:
            return Lookup("mismatch")
        if saved is None:
            return Lookup("in_flight")
        return Lookup("replay", saved)

    def save(self, key: str, answer: SavedAnswer) -> None:
        entry = self._entries.get(key)
        if entry is not None:  # None: the store was cleared while the request ran
            self._entries[key] = (entry[0], answer)

    def release_unsaved(self, key: str) -> None:
        """Forget a reserved key whose answer was not saved (validation failed, cancelled)."""
        entry = self._entries.get(key)
        if entry is not None and entry[1] is None:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
