"""Event identity: UUIDv7 for published events, UUIDv5 for provider-derived ones."""
from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["NAMESPACE", "derived_id", "uuid7"]

# Fixed namespace for every deterministic id hub derives; changing it re-keys history.
NAMESPACE = uuid.UUID("5b0e4a1c-7f1d-4b9e-9a37-2f6c1d8e4b10")

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> str:
    """A time-ordered RFC 9562 UUIDv7 as a string; monotonic within this process."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last_ms = ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return str(uuid.UUID(int=value))


def derived_id(*parts: str) -> str:
    """A deterministic UUIDv5 from the given parts (e.g. provider, provider event id).

    The same parts always give the same id, so a redelivered webhook or a re-imported
    legacy row yields the same `event_id` and is deduplicated downstream.
    """
    if not parts or any(not p for p in parts):
        raise ValueError(f"derived_id needs non-empty parts, got {parts!r}")
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))
