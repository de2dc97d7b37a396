"""Fault injection for the provider simulators: configuration and pure decisions.

Nothing here does I/O. `decide` turns a `FaultConfig` and a seeded `random.Random`
into the answer one request gets, so a run with the same seed, configuration and
request order makes the same decisions.
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

__all__ = ["FaultConfig", "FaultDecision", "FaultKind", "decide"]

FaultKind = Literal["ok", "reject", "burst_500", "rate_limit", "timeout", "error_500"]

_RATES = ("error_rate", "rate_limit_rate", "timeout_rate")
_COUNTS = ("burst_500", "rate_limit")
_NON_NEGATIVE = ("latency_ms", "latency_jitter_ms", "timeout_s", "retry_after_s")


@dataclass(frozen=True)
class FaultConfig:
    """What a simulator does wrong, per run. Every field defaults to "behave".

    latency_ms / latency_jitter_ms: each answer waits latency_ms plus a uniform draw in
        [-jitter, +jitter] milliseconds (never below 0).
    error_rate: fraction of requests answered 500.
    burst_500: the next N requests answer 500 (counts down).
    rate_limit: the next N requests answer 429 (counts down);
    rate_limit_rate: fraction of requests answered 429; both with
        `Retry-After: retry_after_s`.
    timeout_rate: fraction of requests that hang timeout_s seconds, then answer 504;
        with timeout_after_effect the request is carried out first (the effect happens,
        the answer comes late), the ambiguous case idempotency keys exist for.
    reject_all: when set, every request is answered reject_status with this reason
        (a permanent error); set it back to None to "fix" the provider.
    """

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    burst_500: int = 0
    rate_limit: int = 0
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    timeout_after_effect: bool = False
    reject_all: str | None = None
    reject_status: int = 400

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name}={value!r}: must be a fraction in [0, 1]")
        for name in (*_COUNTS, *_NON_NEGATIVE):
            if getattr(self, name) < 0:
                raise ValueError(f"fault {name}={getattr(self, name)!r}: must be >= 0")
        if not 400 <= self.reject_status <= 499:
            raise ValueError(f"fault reject_status={self.reject_status!r}: must be a 4xx")

    def updated(self, changes: Mapping[str, Any]) -> FaultConfig:
        """A copy with `changes` applied; raises ValueError naming an unknown or bad field."""
        return replace(self, **_coerce(changes))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON-like values; raises ValueError naming an unknown or bad field."""
        return cls(**_coerce(values))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_NAMES = frozenset(f.name for f in fields(FaultConfig))


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _NAMES:
            known = ", ".join(sorted(_NAMES))
            raise ValueError(f"unknown fault {name!r}; known faults: {known}")
        if name == "reject_all":
            if value is not None and not isinstance(value, str):
                raise ValueError(f"fault reject_all={value!r}: must be a reason string or null")
            out[name] = value or None
        elif name == "timeout_after_effect":
            if not isinstance(value, bool):
                raise ValueError(f"fault timeout_after_effect={value!r}: must be true or false")
            out[name] = value
        elif name in (*_COUNTS, "reject_status", "retry_after_s"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"fault {name}={value!r}: must be an integer")
            out[name] = value
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault {name}={value!r}: must be a number")
            out[name] = float(value)
    return out


@dataclass(frozen=True)
class FaultDecision:
    """The answer one request gets. latency_s applies to every kind; hang_s only to timeout."""

    kind: FaultKind
    latency_s: float = 0.0
    hang_s: float = 0.0
    status: int = 200
    retry_after_s: int | None = None
    reason: str = ""
    effect_first: bool = False


def decide(config: FaultConfig, rng: random.Random) -> tuple[FaultDecision, FaultConfig]:
    """Decide one request's fate; returns the decision and the config with counters spent.

    Always draws exactly four numbers from `rng`, so the sequence of decisions for a seed
    does not shift when a counted fault (burst, rate limit) is switched on or off.
    Precedence: reject_all, burst_500, counted rate limit, timeout, error, rate-limit rate.
    """
    u_latency, u_timeout, u_error, u_limit = (rng.random() for _ in range(4))
    jitter = (2.0 * u_latency - 1.0) * config.latency_jitter_ms
    latency_s = max(0.0, config.latency_ms + jitter) / 1000.0
    if config.reject_all is not None:
        decision = FaultDecision(
            "reject", latency_s, status=config.reject_status, reason=config.reject_all
        )
        return decision, config
    if config.burst_500 > 0:
        decision = FaultDecision("burst_500", latency_s, status=500, reason="injected burst")
        return decision, replace(config, burst_500=config.burst_500 - 1)
    if config.rate_limit > 0:
        decision = _rate_limited(config, latency_s)
        return decision, replace(config, rate_limit=config.rate_limit - 1)
    if u_timeout < config.timeout_rate:
        decision = FaultDecision(
            "timeout",
            latency_s,
            hang_s=config.timeout_s,
            status=504,
            reason="injected timeout",
            effect_first=config.timeout_after_effect,
        )
        return decision, config
    if u_error < config.error_rate:
        return FaultDecision("error_500", latency_s, status=500, reason="injected error"), config
    if u_limit < config.rate_limit_rate:
        return _rate_limited(config, latency_s), config
    return FaultDecision("ok", latency_s), config


def _rate_limited(config: FaultConfig, latency_s: float) -> FaultDecision:
    return FaultDecision(
        "rate_limit",
        latency_s,
        status=429,
        retry_after_s=config.retry_after_s,
        reason="injected rate limit",
    )
