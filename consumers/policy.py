"""When to retry, where a failing event goes next, how fast to call, when to stop calling.

Pure rules: no I/O, clocks and randomness injected, so each is tested exactly.
"""
from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from consumers.errors import CircuitOpen, ProviderError
from hub.topics import delay_seconds

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Next",
    "RetryLadder",
    "RetryPolicy",
    "TokenBucket",
    "delay_seconds",
]

Clock = Callable[[], float]
Uniform = Callable[[float, float], float]


@dataclass(frozen=True)
class RetryPolicy:
    """Short in-process retries: exponential backoff with full jitter, Retry-After honoured."""

    attempts: int = 5
    base: float = 0.2
    cap: float = 30.0

    def next_delay(
        self, attempt: int, error: ProviderError, uniform: Uniform = random.uniform
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up.

        A Retry-After longer than `cap` gives up too: waiting less would not honour it,
        and waiting that long in process would hold the partition; the retry topics wait.
        """
        if not error.retriable or attempt >= self.attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.cap else None
        return uniform(0, min(self.cap, self.base * 2 ** attempt))


@dataclass(frozen=True)
class Next:
    """Where a failed event goes: the retry topic of `delay`, or the dead-letter topic."""

    action: Literal["retry", "dead_letter"]
    delay: str | None = None
    seconds: int = 0


@dataclass(frozen=True)
class RetryLadder:
    """Retry topics with growing delays, then the dead-letter topic."""

    delays: tuple[str, ...] = ("30s", "5m", "1h")

    def __post_init__(self) -> None:
        seconds = [delay_seconds(d) for d in self.delays]
        if seconds != sorted(seconds) or len(set(self.delays)) != len(self.delays):
            raise ValueError(f"retry delays {list(self.delays)} must be distinct and growing")

    def after(self, error: ProviderError, stage: str | None) -> Next:
        """The next step for an event that failed with `error` while at `stage` (None: not
        yet retried through a topic). Permanent errors and the end of the ladder dead-letter."""
        if not error.retriable:
            return Next("dead_letter")
        if stage is None:
            index = 0
        elif stage in self.delays:
            index = self.delays.index(stage) + 1
        else:  # a stage the ladder no longer has: do not guess, give up visibly
            index = len(self.delays)
        if index >= len(self.delays):
            return Next("dead_letter")
        delay = self.delays[index]
        return Next("retry", delay, delay_seconds(delay))


@dataclass
class TokenBucket:
    """`rate` calls per second on average, up to `burst` at once."""

    rate: float
    burst: float
    clock: Clock = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got {self.rate}, {self.burst}")
        self._tokens = float(self.burst)
        self._at = self.clock()

    def reserve(self) -> float:
        """Take one token; returns the seconds to wait before using it (0 if available now)."""
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


BreakerState = Literal["closed", "open", "half_open"]
OnChange = Callable[[BreakerState, BreakerState, str], None]


@dataclass
class CircuitBreaker:
    """Opens when, over the last `window_s` seconds with at least `min_calls` calls, the
    share of failures reaches `failure_ratio`; after `cooldown_s` lets `probes` calls
    through (half-open): a success closes it, a failure opens it again.

    `on_change(old, new, why)` is called on every state change.
    """

    failure_ratio: float = 0.5
    window_s: float = 30.0
    min_calls: int = 10
    cooldown_s: float = 15.0
    probes: int = 1
    clock: Clock = time.monotonic
    on_change: OnChange | None = None
    _state: BreakerState = field(init=False, default="closed")
    _calls: deque[tuple[float, bool]] = field(init=False, default_factory=deque)
    _failures: int = field(init=False, default=0)
    _opened_at: float = field(init=False, default=0.0)
    _probing: int = field(init=False, default=0)

    @property
    def state(self) -> BreakerState:
        if self._state == "open" and self.clock() >= self._opened_at + self.cooldown_s:
            self._move("half_open", f"cooldown of {self.cooldown_s:g} s over")
        return self._state

    @property
    def last_state(self) -> BreakerState:
        """The state as last recorded, without moving open to half-open (for gauges)."""
        return self._state

    def retry_after(self) -> float:
        """Seconds until a call may be tried (0 when closed)."""
        if self.state == "open":
            return max(0.0, self._opened_at + self.cooldown_s - self.clock())
        if self._state == "half_open" and self._probing >= self.probes:
            return min(1.0, self.cooldown_s)
        return 0.0

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go out now (counts a half-open probe)."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and self._probing < self.probes:
            self._probing += 1
            return
        wait = self.retry_after()
        raise CircuitOpen(f"circuit open; next probe in {wait:.1f} s", retry_after=wait)

    def record_success(self) -> None:
        if self._state == "half_open":
            self._probing = max(0, self._probing - 1)
            self._calls.clear()
            self._failures = 0
            self._move("closed", "probe succeeded")
            return
        self._record(True)

    def record_failure(self) -> None:
        if self._state == "half_open":
            self._probing = max(0, self._probing - 1)
            self._open("probe failed")
            return
        self._record(False)

    def record_neutral(self) -> None:
        """The call proved nothing either way (429, cancelled): frees a half-open probe."""
        if self._state == "half_open":
            self._probing = max(0, self._probing - 1)

    def _record(self, ok: bool) -> None:
        if self._state != "closed":
            return  # a call that started before the circuit opened proves nothing now
        now = self.clock()
        self._calls.append((now, ok))
        self._failures += not ok
        while self._calls and self._calls[0][0] <= now - self.window_s:
            self._failures -= not self._calls.popleft()[1]
        calls, failures = len(self._calls), self._failures
        if calls >= self.min_calls and failures / calls >= self.failure_ratio:
            self._open(f"{failures} of {calls} calls failed in {self.window_s:g} s")

    def _open(self, why: str) -> None:
        self._opened_at = self.clock()
        self._calls.clear()
        self._failures = 0
        self._move("open", why)

    def _move(self, new: BreakerState, why: str) -> None:
        old, self._state = self._state, new
        if new != "half_open":
            self._probing = 0
        if self.on_change is not None and old != new:
            self.on_change(old, new, why)
