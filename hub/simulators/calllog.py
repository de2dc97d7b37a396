"""The record of every call a simulator received (and every callback it sent)."""
from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Call", "CallLog"]

DEFAULT_CAP = 1_000_000


@dataclass(slots=True)
class Call:
    """One HTTP exchange. direction "in": a request the simulator answered; "out": a
    callback (webhook, status callback) it sent, one record per delivery attempt.

    effect names the real thing the call did ("charge", "refund", "sms", "invoice",
    "journal", "email", ...) or is None (replays, errors, reads, declines of nothing).
    """

    seq: int
    ts: float
    sim: str
    direction: Literal["in", "out"]
    method: str
    path: str
    status: int
    body: Any = None
    idempotency_key: str | None = None
    client_reference: str | None = None
    replayed: bool = False
    effect: str | None = None
    ref: str | None = None
    fault: str | None = None
    attempt: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CallLog:
    """Append-only, in memory, bounded by `cap` entries (the oldest are dropped first).

    Sequence numbers start at 1 and never repeat until `clear`.
    """

    def __init__(self, sim: str, cap: int = DEFAULT_CAP) -> None:
        self.sim = sim
        self._cap = cap
        self._calls: deque[Call] = deque(maxlen=cap)
        self._effects: deque[Call] = deque(maxlen=cap)
        self._effect_counts: Counter[str] = Counter()
        self._next_seq = 1

    def record(
        self,
        direction: Literal["in", "out"],
        method: str,
        path: str,
        status: int,
        **details: Any,
    ) -> Call:
        call = Call(
            self._next_seq, time.time(), self.sim, direction, method, path, status, **details
        )
        self._next_seq += 1
        self._calls.append(call)
        if call.effect is not None:
            self._effects.append(call)
            self._effect_counts[call.effect] += 1
        return call

    def since(self, seq: int, limit: int) -> list[Call]:
        """Calls with a sequence number above `seq`, oldest first, at most `limit`."""
        if not self._calls:
            return []
        start = max(0, seq - self._calls[0].seq + 1)
        return [self._calls[i] for i in range(start, min(len(self._calls), start + limit))]

    def effects(self, kind: str | None = None) -> list[Call]:
        if kind is None:
            return list(self._effects)
        return [c for c in self._effects if c.effect == kind]

    def effect_counts(self) -> dict[str, int]:
        return dict(self._effect_counts)

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def __len__(self) -> int:
        return len(self._calls)

    def clear(self) -> None:
        self._calls.clear()
        self._effects.clear()
        self._effect_counts.clear()
        self._next_seq = 1
