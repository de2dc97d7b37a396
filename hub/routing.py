"""`[integrations.<name>]` and `[routes]` of the config file: parsed, validated, frozen.

    [integrations.payments]
    kind = "payments"                       # payments | sms | accounting | email
    base_url = "http://127.0.0.1:8900/payments"
    credentials = { api_key = "env:STRIPE_API_KEY" }
    concurrency = 64                        # calls in flight per partition
    rate_per_s = 200                        # token bucket: calls per second ...
    burst = 50                              # ... and at once
    timeout_s = 10
    retry = { attempts = 4, base = 0.2, cap = 10.0, topics = ["30s", "5m", "1h"] }
    breaker = { failure_ratio = 0.5, window_s = 30, min_calls = 20, cooldown_s = 15 }

    [routes]
    "payment.intent_requested" = ["payments"]

An unknown event type, integration, kind or key, a missing credential or an `env:`
secret whose variable is unset is a ConfigError naming the line.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.errors import ConfigError
from hub.topics import delay_seconds

__all__ = ["KINDS", "BreakerConfig", "IntegrationConfig", "Kind", "RetryConfig", "parse_routing"]

Where = Callable[..., str]


@dataclass(frozen=True)
class Kind:
    """What an integration kind can act on and the credentials it needs."""

    types: frozenset[str]
    credentials: tuple[str, ...]


KINDS: dict[str, Kind] = {
    "payments": Kind(frozenset({"payment.intent_requested", "payment.refund_requested"}),
                     ("api_key",)),
    "sms": Kind(frozenset({"sms.requested", "sms.delivery_status"}),
                ("account_sid", "auth_token")),
    # invoice.issued posts the invoice directly (same key and body as invoice.post_requested).
    "accounting": Kind(frozenset({"invoice.issued", "invoice.post_requested", "payment.succeeded"}),
                       ("token",)),
    # payment.intent_requested only feeds the invoice ⇒ address table receipts are sent to.
    "email": Kind(frozenset({"email.requested", "payment.succeeded", "payment.intent_requested"}),
                  ("token",)),
}


@dataclass(frozen=True)
class RetryConfig:
    attempts: int = 4
    base: float = 0.2
    cap: float = 10.0
    topics: tuple[str, ...] = ("30s", "5m", "1h")


@dataclass(frozen=True)
class BreakerConfig:
    failure_ratio: float = 0.5
    window_s: float = 30.0
    min_calls: int = 20
    cooldown_s: float = 15.0


@dataclass(frozen=True)
class IntegrationConfig:
    name: str
    kind: str
    base_url: str
    credentials: Mapping[str, str] = field(repr=False)
    concurrency: int = 64
    rate_per_s: float = 200.0
    burst: int = 50
    timeout_s: float = 10.0
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    options: Mapping[str, Any] = field(default_factory=dict)


_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,40}$")
_KEYS = {"kind", "base_url", "credentials", "concurrency", "rate_per_s", "burst", "timeout_s",
         "retry", "breaker", "options"}


def parse_routing(
    integrations: Mapping[str, Any],
    routes: Mapping[str, Any],
    env: Mapping[str, str],
    where: Where,
    known_types: Collection[str],
) -> tuple[dict[str, IntegrationConfig], dict[str, tuple[str, ...]]]:
    """Validate both sections; returns (integrations by name, route: type -> names)."""
    from hub.config import resolve_secret  # hub.config imports this module lazily too

    parsed: dict[str, IntegrationConfig] = {}
    for name, spec in integrations.items():
        key = f"integrations.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where(key)}: expected a table")
        if not _NAME.match(name):
            raise ConfigError(f"{where(key)}: integration names are lowercase letters, digits, - and _")
        for k in spec:
            if k not in _KEYS:
                raise ConfigError(f"{where(key + '.' + k)}: unknown key; known: {sorted(_KEYS)}")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where(key + '.kind')}: unknown kind {kind!r}; known: {sorted(KINDS)}")
        base_url = spec.get("base_url")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{where(key + '.base_url')}: expected an http(s):// URL, got {base_url!r}")
        creds = spec.get("credentials", {})
        if not isinstance(creds, dict) or not all(isinstance(v, str) for v in creds.values()):
            raise ConfigError(f"{where(key + '.credentials')}: expected a table of strings")
        for needed in KINDS[kind].credentials:
            if needed not in creds:
                raise ConfigError(f"{where(key + '.credentials')}: missing credential {needed!r} "
                                  f"(a {kind} integration needs {list(KINDS[kind].credentials)})")
        resolved = {k: resolve_secret(v, where(f"{key}.credentials.{k}", literal=k), env)
                    for k, v in creds.items()}
        options = spec.get("options", {})
        if not isinstance(options, dict):
            raise ConfigError(f"{where(key + '.options')}: expected a table")
        parsed[name] = IntegrationConfig(
            name=name, kind=kind, base_url=base_url.rstrip("/"), credentials=resolved,
            concurrency=_pos_int(spec, "concurrency", 64, where, key),
            rate_per_s=_pos_num(spec, "rate_per_s", 200.0, where, key),
            burst=_pos_int(spec, "burst", 50, where, key),
            timeout_s=_pos_num(spec, "timeout_s", 10.0, where, key),
            retry=_retry(spec.get("retry", {}), where, key + ".retry"),
            breaker=_breaker(spec.get("breaker", {}), where, key + ".breaker"),
            options=options,
        )
    return parsed, _routes(routes, parsed, where, known_types)


def _routes(
    routes: Mapping[str, Any], integrations: Mapping[str, IntegrationConfig], where: Where,
    known_types: Collection[str],
) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for event_type, targets in routes.items():
        at = where(f'routes."{event_type}"', literal=event_type)
        if event_type not in known_types:
            raise ConfigError(f"{at}: unknown event type {event_type!r}; no schema in schemas/ "
                              f"(known: {', '.join(sorted(known_types))})")
        names = [targets] if isinstance(targets, str) else targets
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{at}: expected a list of integration names")
        for name in names:
            if name not in integrations:
                raise ConfigError(f"{at}: unknown integration {name!r}; configured: "
                                  f"{sorted(integrations) or 'none'} ([integrations.<name>])")
            kind = integrations[name].kind
            if event_type not in KINDS[kind].types:
                raise ConfigError(f"{at}: integration {name!r} (kind {kind}) cannot handle "
                                  f"{event_type}; it handles {sorted(KINDS[kind].types)}")
        out[event_type] = tuple(dict.fromkeys(names))
    return out


def _pos_int(t: Mapping[str, Any], k: str, default: int, where: Where, key: str) -> int:
    v = t.get(k, default)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{where(f'{key}.{k}', literal=k)}: expected a positive integer, got {v!r}")
    return v


def _pos_num(t: Mapping[str, Any], k: str, default: float, where: Where, key: str) -> float:
    v = t.get(k, default)
    if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0:
        raise ConfigError(f"{where(f'{key}.{k}', literal=k)}: expected a positive number, got {v!r}")
    return float(v)


def _table(v: Any, known: set[str], where: Where, key: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"{where(key)}: expected a table")
    for k in v:
        if k not in known:
            raise ConfigError(f"{where(f'{key}.{k}', literal=k)}: unknown key; known: {sorted(known)}")
    return v


def _retry(v: Any, where: Where, key: str) -> RetryConfig:
    t = _table(v, {"attempts", "base", "cap", "topics"}, where, key)
    d = RetryConfig()
    topics = t.get("topics", list(d.topics))
    if not isinstance(topics, list) or not all(isinstance(x, str) for x in topics):
        raise ConfigError(
            f"{where(key + '.topics', literal='topics')}: expected a list like [\"30s\", \"5m\"]")
    try:
        seconds = [delay_seconds(x) for x in topics]
    except ValueError as exc:
        raise ConfigError(f"{where(key + '.topics', literal='topics')}: {exc}") from None
    if seconds != sorted(set(seconds)):
        raise ConfigError(f"{where(key + '.topics', literal='topics')}: delays must be distinct and growing")
    return RetryConfig(attempts=_pos_int(t, "attempts", d.attempts, where, key),
                       base=_pos_num(t, "base", d.base, where, key),
                       cap=_pos_num(t, "cap", d.cap, where, key), topics=tuple(topics))


def _breaker(v: Any, where: Where, key: str) -> BreakerConfig:
    t = _table(v, {"failure_ratio", "window_s", "min_calls", "cooldown_s"}, where, key)
    d = BreakerConfig()
    ratio = _pos_num(t, "failure_ratio", d.failure_ratio, where, key)
    if ratio > 1:
        at = where(key + ".failure_ratio", literal="failure_ratio")
        raise ConfigError(f"{at}: a fraction in (0, 1], got {ratio}")
    return BreakerConfig(failure_ratio=ratio,
                         window_s=_pos_num(t, "window_s", d.window_s, where, key),
                         min_calls=_pos_int(t, "min_calls", d.min_calls, where, key),
                         cooldown_s=_pos_num(t, "cooldown_s", d.cooldown_s, where, key))
