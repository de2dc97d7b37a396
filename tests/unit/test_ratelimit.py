from __future__ import annotations

import pytest

from hub.ratelimit import ClientLimiter

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_limited_with_retry_after() -> None:
    clock = Clock()
    limiter = ClientLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.check("a") for _ in range(3)] == [None, None, None]
    assert limiter.check("a") == 1          # half a second until the next token: rounded up
    clock.now += 0.5
    assert limiter.check("a") is None
    assert limiter.check("a") == 1


def test_clients_are_independent() -> None:
    limiter = ClientLimiter(rate=1.0, burst=1, clock=Clock())
    assert limiter.check("a") is None
    assert limiter.check("a") == 1
    assert limiter.check("b") is None


def test_slow_rate_gives_longer_retry_after() -> None:
    limiter = ClientLimiter(rate=0.1, burst=1, clock=Clock())
    assert limiter.check("a") is None
    assert limiter.check("a") == 10


def test_refill_caps_at_burst() -> None:
    clock = Clock()
    limiter = ClientLimiter(rate=10.0, burst=2, clock=clock)
    limiter.check("a")
    clock.now += 3600
    assert [limiter.check("a") for _ in range(3)] == [None, None, 1]


def test_oldest_client_is_evicted() -> None:
    limiter = ClientLimiter(rate=1.0, burst=1, max_clients=2, clock=Clock())
    limiter.check("a")
    limiter.check("b")
    limiter.check("c")      # evicts "a", which starts full again
    assert limiter.check("a") is None
    assert limiter.check("c") == 1


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        ClientLimiter(rate=0, burst=1)
