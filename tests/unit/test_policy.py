from __future__ import annotations

import pytest

from consumers.errors import CircuitOpen, PermanentError, RateLimited, TransientError
from consumers.policy import CircuitBreaker, Next, RetryLadder, RetryPolicy, TokenBucket

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def upper(lo: float, hi: float) -> float:
    """A 'random' draw that always takes the top of the range."""
    return hi


def test_full_jitter_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=10, base=0.2, cap=1.0)
    error = TransientError("boom", status=503)
    draws: list[tuple[float, float]] = []

    def record(lo: float, hi: float) -> float:
        draws.append((lo, hi))
        return hi / 2

    assert [policy.next_delay(n, error, record) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.5, 0.5]
    assert draws == [(0, 0.4), (0, 0.8), (0, 1.0), (0, 1.0)]


def test_gives_up_after_the_attempts_and_at_once_for_permanent_errors() -> None:
    policy = RetryPolicy(attempts=3, base=0.1, cap=5.0)
    assert policy.next_delay(2, TransientError("x"), upper) == pytest.approx(0.4)
    assert policy.next_delay(3, TransientError("x"), upper) is None
    assert policy.next_delay(1, PermanentError("bad", status=400), upper) is None


def test_retry_after_is_honoured_exactly_and_too_long_ones_leave_the_process() -> None:
    policy = RetryPolicy(attempts=5, base=0.1, cap=5.0)
    assert policy.next_delay(1, RateLimited("slow down", status=429, retry_after=2.0), upper) == 2.0
    assert policy.next_delay(1, RateLimited("later", status=429, retry_after=60.0), upper) is None


def test_ladder_walks_the_retry_topics_then_dead_letters() -> None:
    ladder = RetryLadder(("30s", "5m", "1h"))
    error = TransientError("x")
    assert ladder.after(error, None) == Next("retry", "30s", 30)
    assert ladder.after(error, "30s") == Next("retry", "5m", 300)
    assert ladder.after(error, "5m") == Next("retry", "1h", 3600)
    assert ladder.after(error, "1h") == Next("dead_letter")
    assert ladder.after(error, "2h") == Next("dead_letter")
    assert ladder.after(PermanentError("no", status=422), None) == Next("dead_letter")
    assert RetryLadder(()).after(error, None) == Next("dead_letter")


@pytest.mark.parametrize("delays", [("5m", "30s"), ("1s", "1s"), ("0s",), ("10x",)])
def test_ladder_rejects_bad_or_shrinking_delays(delays: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        RetryLadder(delays)


def test_token_bucket_allows_a_burst_then_spaces_calls_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    assert bucket.reserve() == pytest.approx(0.2)
    clock.now += 0.2  # the two reserved tokens are now paid for
    assert bucket.reserve() == pytest.approx(0.1)
    clock.now += 10.0  # refills only up to the burst
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


def make_breaker(clock: Clock, changes: list[tuple[str, str, str]]) -> CircuitBreaker:
    return CircuitBreaker(failure_ratio=0.5, window_s=10.0, min_calls=4, cooldown_s=5.0,
                          clock=clock, on_change=lambda o, n, why: changes.append((o, n, why)))


def test_breaker_opens_on_the_failure_ratio_once_enough_calls_were_seen() -> None:
    clock, changes = Clock(), []
    breaker = make_breaker(clock, changes)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_failure()  # 3 of 3 failed, but fewer than min_calls
    assert breaker.state == "closed"
    breaker.record_success()  # 3 of 4 failed
    assert breaker.state == "open"
    assert changes == [("closed", "open", "3 of 4 calls failed in 10 s")]
    with pytest.raises(CircuitOpen) as exc:
        breaker.before_call()
    assert exc.value.retry_after == 5.0
    assert exc.value.retriable is True


def test_breaker_forgets_calls_older_than_the_window() -> None:
    clock, changes = Clock(), []
    breaker = make_breaker(clock, changes)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10.0
    breaker.record_success()
    breaker.record_failure()  # only 1 of 2 in the window
    assert breaker.state == "closed"
    assert changes == []


def test_half_open_probe_closes_on_success_and_reopens_on_failure() -> None:
    clock, changes = Clock(), []
    breaker = make_breaker(clock, changes)
    for _ in range(4):
        breaker.record_failure()
    clock.now += 4.0
    assert breaker.retry_after() == pytest.approx(1.0)
    clock.now += 1.0
    breaker.before_call()  # the probe
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one probe at a time
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 5.0
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.before_call()
    assert [(o, n) for o, n, _ in changes] == [
        ("closed", "open"), ("open", "half_open"), ("half_open", "open"),
        ("open", "half_open"), ("half_open", "closed")]
    assert changes[2][2] == "probe failed"


def test_a_neutral_answer_frees_the_probe_slot() -> None:
    clock, changes = Clock(), []
    breaker = make_breaker(clock, changes)
    for _ in range(4):
        breaker.record_failure()
    clock.now += 5.0
    breaker.before_call()
    breaker.record_neutral()
    breaker.before_call()  # allowed again
    assert breaker.state == "half_open"
