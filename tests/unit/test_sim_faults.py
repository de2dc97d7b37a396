"""Fault decisions of the provider simulators: pure, seeded, reproducible."""
from __future__ import annotations

import random

import pytest

from hub.simulators.faults import FaultConfig, FaultDecision, decide

pytestmark = pytest.mark.unit


def run(config: FaultConfig, n: int, seed: int = 1) -> tuple[list[FaultDecision], FaultConfig]:
    rng = random.Random(seed)
    decisions = []
    for _ in range(n):
        decision, config = decide(config, rng)
        decisions.append(decision)
    return decisions, config


def test_default_config_answers_ok_at_once() -> None:
    decisions, _ = run(FaultConfig(), 100)
    assert {d.kind for d in decisions} == {"ok"}
    assert {d.latency_s for d in decisions} == {0.0}


def test_fixed_latency_without_jitter() -> None:
    decisions, _ = run(FaultConfig(latency_ms=20), 10)
    assert [d.latency_s for d in decisions] == [0.02] * 10


def test_jitter_stays_within_bounds_and_never_below_zero() -> None:
    decisions, _ = run(FaultConfig(latency_ms=20, latency_jitter_ms=5), 1000)
    latencies = [d.latency_s for d in decisions]
    assert min(latencies) >= 0.015
    assert max(latencies) <= 0.025
    assert len(set(latencies)) > 900
    wide, _ = run(FaultConfig(latency_ms=1, latency_jitter_ms=10), 1000)
    assert min(d.latency_s for d in wide) == 0.0


def test_burst_answers_500_exactly_n_times_then_recovers() -> None:
    decisions, after = run(FaultConfig(burst_500=3), 5)
    assert [d.kind for d in decisions] == ["burst_500"] * 3 + ["ok"] * 2
    assert [d.status for d in decisions] == [500, 500, 500, 200, 200]
    assert after.burst_500 == 0


def test_counted_rate_limit_carries_retry_after() -> None:
    decisions, after = run(FaultConfig(rate_limit=2, retry_after_s=7), 3)
    assert [(d.kind, d.status, d.retry_after_s) for d in decisions] == [
        ("rate_limit", 429, 7), ("rate_limit", 429, 7), ("ok", 200, None)]
    assert after.rate_limit == 0


def test_reject_all_wins_over_everything_and_is_not_spent() -> None:
    config = FaultConfig(reject_all="account closed", reject_status=403, burst_500=2,
                         rate_limit=2, error_rate=1.0, timeout_rate=1.0)
    decisions, after = run(config, 4)
    assert {(d.kind, d.status, d.reason) for d in decisions} == {
        ("reject", 403, "account closed")}
    assert after == config


def test_burst_comes_before_counted_rate_limit() -> None:
    decisions, _ = run(FaultConfig(burst_500=1, rate_limit=1), 3)
    assert [d.kind for d in decisions] == ["burst_500", "rate_limit", "ok"]


def test_rates_of_one_always_fire_in_precedence_order() -> None:
    timeouts, _ = run(FaultConfig(timeout_rate=1.0, timeout_s=2.5, error_rate=1.0), 3)
    assert {(d.kind, d.status, d.hang_s, d.effect_first) for d in timeouts} == {
        ("timeout", 504, 2.5, False)}
    errors, _ = run(FaultConfig(error_rate=1.0, rate_limit_rate=1.0), 3)
    assert {d.kind for d in errors} == {"error_500"}
    limited, _ = run(FaultConfig(rate_limit_rate=1.0, retry_after_s=2), 3)
    assert {(d.kind, d.retry_after_s) for d in limited} == {("rate_limit", 2)}


def test_timeout_after_effect_is_flagged() -> None:
    decisions, _ = run(FaultConfig(timeout_rate=1.0, timeout_after_effect=True), 1)
    assert decisions[0].effect_first is True


def test_error_rate_is_roughly_the_fraction_asked() -> None:
    decisions, _ = run(FaultConfig(error_rate=0.2), 10_000)
    errors = sum(d.kind == "error_500" for d in decisions)
    assert 1_800 < errors < 2_200


def test_same_seed_same_decisions_other_seed_other_decisions() -> None:
    config = FaultConfig(latency_ms=20, latency_jitter_ms=10, error_rate=0.3,
                         rate_limit_rate=0.1, timeout_rate=0.05)
    first, _ = run(config, 500, seed=42)
    again, _ = run(config, 500, seed=42)
    other, _ = run(config, 500, seed=43)
    assert first == again
    assert first != other


def test_counted_faults_do_not_shift_the_random_sequence() -> None:
    config = FaultConfig(error_rate=0.5)
    plain, _ = run(config, 50, seed=9)
    with_burst, _ = run(config.updated({"burst_500": 5}), 50, seed=9)
    assert [d.kind for d in with_burst[:5]] == ["burst_500"] * 5
    assert with_burst[5:] == plain[5:]


def test_updated_merges_and_clears_reject_all() -> None:
    config = FaultConfig(latency_ms=20).updated({"reject_all": "closed"})
    assert (config.latency_ms, config.reject_all) == (20.0, "closed")
    assert config.updated({"reject_all": None}).reject_all is None
    assert config.updated({"reject_all": ""}).reject_all is None


def test_from_mapping_round_trips_to_dict() -> None:
    config = FaultConfig(latency_ms=5, burst_500=2, reject_all="x", timeout_after_effect=True)
    assert FaultConfig.from_mapping(config.to_dict()) == config


@pytest.mark.parametrize(("changes", "message"), [
    ({"eror_rate": 0.1}, "unknown fault 'eror_rate'"),
    ({"error_rate": 1.5}, "fault error_rate=1.5: must be a fraction in [0, 1]"),
    ({"timeout_rate": -0.1}, "fault timeout_rate=-0.1: must be a fraction in [0, 1]"),
    ({"burst_500": 2.5}, "fault burst_500=2.5: must be an integer"),
    ({"burst_500": -1}, "fault burst_500=-1: must be >= 0"),
    ({"latency_ms": "20"}, "fault latency_ms='20': must be a number"),
    ({"latency_ms": True}, "fault latency_ms=True: must be a number"),
    ({"reject_status": 500}, "fault reject_status=500: must be a 4xx"),
    ({"reject_all": 3}, "fault reject_all=3: must be a reason string or null"),
    ({"timeout_after_effect": 1}, "fault timeout_after_effect=1: must be true or false"),
])
def test_bad_fault_values_name_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        FaultConfig.from_mapping(changes)
    assert str(caught.value).startswith(message)
