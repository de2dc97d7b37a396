"""Per-client rate limiting at the ingress: one token bucket per client, pure and clocked."""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ClientLimiter"]


@dataclass
class ClientLimiter:
    """`rate` requests per second per client on average, `burst` at once.

    Clients are identified by the caller (API key id, or endpoint + address). The
    `max_clients` most recently seen buckets are kept; an evicted client starts full.
    """

    rate: float
    burst: int
    max_clients: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"rate limit needs rate > 0 and burst >= 1, got {self.rate}, {self.burst}")

    def check(self, client: str) -> int | None:
        """Take a token for `client`: None if allowed, else whole seconds until one is free."""
        now = self.clock()
        tokens, at = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._store(client, tokens - 1.0, now)
            return None
        self._store(client, tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _store(self, client: str, tokens: float, now: float) -> None:
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
