from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.scheduling import KeyOrderedScheduler, OffsetWatermark

pytestmark = pytest.mark.unit

A, B = ("t", 0), ("t", 1)


def test_same_key_waits_for_the_one_before_it() -> None:
    s: KeyOrderedScheduler[int] = KeyOrderedScheduler(limit=10)
    assert s.submit(A, "k1", 0) == [0]
    assert s.submit(A, "k1", 1) == []
    assert s.submit(A, "k2", 2) == [2]
    assert s.submit(A, "k1", 3) == []
    assert s.complete(A, "k1") == [1]
    assert s.complete(A, "k1") == [3]
    assert s.complete(A, "k2") == []
    assert s.complete(A, "k1") == []
    assert (s.running(A), s.queued(A)) == (0, 0)


def test_different_keys_run_up_to_the_limit_then_in_arrival_order() -> None:
    s: KeyOrderedScheduler[str] = KeyOrderedScheduler(limit=2)
    assert s.submit(A, "a", "a0") == ["a0"]
    assert s.submit(A, "b", "b0") == ["b0"]
    assert s.submit(A, "c", "c0") == []
    assert s.submit(A, "a", "a1") == []
    assert s.submit(A, "d", "d0") == []
    # a0 done: a1 is ready but c0 and d0 became ready first.
    assert s.complete(A, "a") == ["c0"]
    assert s.complete(A, "b") == ["d0"]
    assert s.complete(A, "c") == ["a1"]
    assert (s.running(A), s.queued(A)) == (2, 2)


def test_lanes_have_their_own_limit() -> None:
    s: KeyOrderedScheduler[int] = KeyOrderedScheduler(limit=1)
    assert s.submit(A, "k", 1) == [1]
    assert s.submit(B, "k", 2) == [2]
    assert s.submit(A, "j", 3) == []
    assert s.complete(B, "k") == []
    assert s.complete(A, "k") == [3]


def test_drop_returns_what_never_started() -> None:
    s: KeyOrderedScheduler[int] = KeyOrderedScheduler(limit=1)
    s.submit(A, "a", 1)
    s.submit(A, "a", 2)
    s.submit(A, "b", 3)
    assert sorted(s.drop(A)) == [2, 3]
    assert s.drop(A) == []
    assert s.running(A) == 0


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency limit must be >= 1, got 0"):
        KeyOrderedScheduler(0)


def test_watermark_moves_only_over_contiguous_done_offsets() -> None:
    w = OffsetWatermark()
    assert w.committable is None
    for offset in (10, 11, 12, 13):
        w.add(offset)
    assert w.committable == 10
    assert w.done(12) is None
    assert w.done(11) is None
    assert w.committable == 10
    assert w.done(10) == 13
    assert w.done(13) == 14
    assert (w.committable, w.in_flight) == (14, 0)
    w.add(20)  # a gap (compacted or filtered offsets) is fine
    assert w.committable == 20
    assert w.done(20) == 21


def test_watermark_rejects_going_backwards_and_unknown_offsets() -> None:
    w = OffsetWatermark()
    w.add(5)
    assert w.seen(5) and w.seen(4) and not w.seen(6)
    with pytest.raises(ValueError, match="offset 4 added after 5"):
        w.add(4)
    with pytest.raises(KeyError):
        w.done(7)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.sampled_from("abcde"), min_size=1, max_size=40),
       limit=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_random_completion_orders_keep_key_order_limit_and_watermark(
    keys: list[str], limit: int, seed: int
) -> None:
    rng = random.Random(seed)
    s: KeyOrderedScheduler[int] = KeyOrderedScheduler(limit)
    w = OffsetWatermark()
    running: list[int] = []
    finished: list[int] = []
    for offset, key in enumerate(keys):
        w.add(offset)
        running += s.submit(A, key, offset)
    while running:
        assert len(running) <= limit
        assert len({keys[o] for o in running}) == len(running)  # one per key at a time
        item = running.pop(rng.randrange(len(running)))
        finished.append(item)
        w.done(item)
        pending = set(range(len(keys))) - set(finished)
        assert w.committable == (min(pending) if pending else len(keys))
        running += s.complete(A, keys[item])
    assert sorted(finished) == list(range(len(keys)))
    for key in set(keys):
        order = [o for o in finished if keys[o] == key]
        assert order == sorted(order)
