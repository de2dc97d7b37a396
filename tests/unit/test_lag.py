"""The Burrow-style lag rules (hub/lag.py) and the windows and report (hub/lagreport.py)."""
from __future__ import annotations

import pytest

from hub.lag import Rules, Sample, Verdict, evaluate, worst
from hub.lagreport import GroupObservation, PartitionObservation, Windows, assess

pytestmark = pytest.mark.unit

RULES = Rules(window=5, stopped_after_s=60)


def window(*rows: tuple[float, int, int]) -> list[Sample]:
    return [Sample(at, committed, end) for at, committed, end in rows]


def test_no_samples_and_one_sample_are_ok() -> None:
    assert evaluate([], 0, RULES) == Verdict("OK", "no samples yet")
    assert evaluate(window((0, 5, 9)), 0, RULES) == Verdict("OK", "one sample so far; nothing to compare")


def test_zero_lag_now_is_ok_even_after_a_stall() -> None:
    assert evaluate(window((0, 5, 9), (10, 5, 9), (20, 9, 9)), 20, RULES) == Verdict("OK", "caught up")


def test_zero_lag_anywhere_in_the_window_is_ok() -> None:
    samples = window((0, 5, 5), (10, 5, 8), (20, 5, 12))
    assert evaluate(samples, 20, RULES) == Verdict("OK", "lag was 0 within the window")


def test_offset_not_moving_while_lag_is_stall() -> None:
    samples = window((0, 5, 7), (10, 5, 9), (20, 5, 12))
    assert evaluate(samples, 20, RULES) == Verdict(
        "STALL", "offset 5 unchanged over 3 samples (20 s) while lag went 2 -> 7")


def test_stall_with_constant_lag() -> None:
    samples = window((0, 5, 7), (10, 5, 7))
    assert evaluate(samples, 10, RULES).status == "STALL"


def test_no_progress_for_the_configured_time_is_stopped() -> None:
    samples = window((0, 5, 7), (30, 5, 9), (61, 5, 12))
    assert evaluate(samples, 61, RULES) == Verdict(
        "STOPPED", "offset 5 has not moved for 61 s while 7 records wait (limit 60 s)")


def test_stopped_counts_from_the_first_lagging_sample_and_beats_an_older_zero() -> None:
    # Caught up at t=0, then a quiet partition gets records: the clock starts at t=10.
    samples = window((0, 5, 5), (10, 5, 6), (69, 5, 8))
    assert evaluate(samples, 69, RULES) == Verdict("OK", "lag was 0 within the window")
    samples = window((0, 5, 5), (10, 5, 6), (70, 5, 8))
    assert evaluate(samples, 70, RULES).status == "STOPPED"


def test_stopped_needs_two_samples() -> None:
    assert evaluate(window((0, 5, 9)), 1000, RULES).status == "OK"


def test_lag_never_falling_while_committing_is_warn() -> None:
    samples = window((0, 5, 10), (10, 8, 13), (20, 12, 17), (30, 15, 20))
    assert evaluate(samples, 30, RULES) == Verdict(
        "WARN", "consumer commits but lag never fell over 4 samples (5 -> 5)")


def test_lag_falling_somewhere_is_ok() -> None:
    samples = window((0, 5, 10), (10, 8, 20), (20, 18, 21), (30, 19, 30))
    assert evaluate(samples, 30, RULES) == Verdict("OK", "consuming; lag falling")


def test_rewind_is_err() -> None:
    samples = window((0, 50, 60), (10, 40, 61))
    assert evaluate(samples, 10, RULES) == Verdict(
        "ERR", "committed offset went back from 50 to 40 (rewind)")


def test_committed_past_log_end_is_err() -> None:
    assert evaluate(window((0, 70, 60)), 0, RULES).status == "ERR"


def test_rules_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 2 samples"):
        Rules(window=1)
    with pytest.raises(ValueError, match="stopped-after must be > 0"):
        Rules(stopped_after_s=0)


def test_worst_orders_by_severity() -> None:
    assert worst([]) == "OK"
    assert worst(["OK", "WARN", "STALL"]) == "STALL"
    assert worst(["STOPPED", "STALL", "ERR", "OK"]) == "ERR"
    assert worst(["STOPPED", "WARN"]) == "STOPPED"


def test_windows_keep_the_last_n_and_round_trip_through_json() -> None:
    w = Windows()
    for i in range(4):
        w.push("g", "t", 0, Sample(float(i), i, 10), keep=3)
    assert w.samples[("g", "t", 0)] == window((1, 1, 10), (2, 2, 10), (3, 3, 10))
    assert Windows.from_json(w.to_json()) == w
    assert w.to_json() == {"g": {"t": {"0": [[1.0, 1, 10], [2.0, 2, 10], [3.0, 3, 10]]}}}
    assert Windows.from_json({"g": {"t": {"x": [[1]]}}, "h": 3}) == Windows()


def test_a_clock_going_back_restarts_the_window() -> None:
    w = Windows()
    w.push("g", "t", 0, Sample(10.0, 1, 5), keep=3)
    assert w.push("g", "t", 0, Sample(5.0, 1, 5), keep=3) == [Sample(5.0, 1, 5)]


def test_assess_builds_reports_across_runs() -> None:
    rules = Rules(window=3, stopped_after_s=100)
    w = Windows()

    def run(now: float, committed: int, end: int, oldest_ms: int | None) -> GroupObservation:
        parts = (PartitionObservation("t", 0, committed, end, oldest_ms),
                 PartitionObservation("t", 1, 4, 4))
        return GroupObservation("g", "Stable", parts)

    [r1] = assess([run(1000.0, 10, 10, None)], w, 1000.0, rules)
    assert (r1.status, r1.lag, r1.lag_seconds) == ("OK", 0, 0.0)
    [r2] = assess([run(1010.0, 10, 15, 1_004_500)], w, 1010.0, rules)
    assert (r2.status, r2.lag, r2.lag_seconds) == ("OK", 5, 5.5)  # 0 lag still in the window
    assess([run(1020.0, 10, 18, 1_004_500)], w, 1020.0, rules)
    [r4] = assess([run(1030.0, 10, 20, 1_004_500)], w, 1030.0, rules)
    assert r4.status == "STALL"
    assert r4.as_dict() == {
        "group": "g", "state": "Stable", "status": "STALL", "lag": 10, "lag_seconds": 25.5,
        "error": None, "partitions": [
            {"topic": "t", "partition": 0, "committed": 10, "log_end": 20, "lag": 10,
             "lag_seconds": 25.5, "status": "STALL",
             "reason": "offset 10 unchanged over 3 samples (20 s) while lag went 5 -> 10",
             "samples": 3},
            {"topic": "t", "partition": 1, "committed": 4, "log_end": 4, "lag": 0,
             "lag_seconds": 0.0, "status": "OK", "reason": "caught up", "samples": 3}]}
    [r5] = assess([run(1040.0, 20, 20, None)], w, 1040.0, rules)
    assert r5.status == "OK"


def test_assess_marks_group_and_partition_errors() -> None:
    w = Windows()
    broken = GroupObservation("b", "Unknown", error="cannot read committed offsets: boom")
    gone = GroupObservation("c", "Empty", (PartitionObservation("t", 0, 3, -1, error="gone"),))
    reports = assess([gone, broken], w, 5.0, RULES)
    assert [(r.group, r.status, r.error) for r in reports] == [
        ("b", "ERR", "cannot read committed offsets: boom"), ("c", "ERR", None)]
    assert reports[1].partitions[0].reason == "gone"
    assert w.samples == {}
