from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hub.config import HubConfig, parse_config
from hub.errors import ConfigError
from hub.routing import BreakerConfig, IntegrationConfig, RetryConfig

pytestmark = pytest.mark.unit

TYPES = ("payment.intent_requested", "payment.refund_requested", "sms.requested")
GOOD = """\
[integrations.payments]
kind = "payments"
base_url = "http://127.0.0.1:8900/payments/"
credentials = { api_key = "env:STRIPE_API_KEY" }
concurrency = 32
rate_per_s = 100
burst = 20
timeout_s = 5
retry = { attempts = 3, base = 0.1, cap = 2.0, topics = ["1s", "2s"] }
breaker = { failure_ratio = 0.6, window_s = 10, min_calls = 5, cooldown_s = 3 }

[routes]
"payment.intent_requested" = ["payments"]
"payment.refund_requested" = "payments"
"""
ENV = {"STRIPE_API_KEY": "sk_test_1"}


def parse(text: str, env: dict[str, str] = ENV) -> HubConfig:
    return parse_config(tomllib.loads(text), env, path=Path("hub.toml"), text=text,
                        known_types=TYPES)


def error_of(text: str, env: dict[str, str] = ENV) -> str:
    with pytest.raises(ConfigError) as exc:
        parse(text, env)
    return str(exc.value)


def test_integrations_and_routes_parse_into_frozen_config() -> None:
    config = parse(GOOD)
    assert config.integrations == {"payments": IntegrationConfig(
        name="payments", kind="payments", base_url="http://127.0.0.1:8900/payments",
        credentials={"api_key": "sk_test_1"}, concurrency=32, rate_per_s=100.0, burst=20,
        timeout_s=5.0, retry=RetryConfig(3, 0.1, 2.0, ("1s", "2s")),
        breaker=BreakerConfig(0.6, 10.0, 5, 3.0))}
    assert config.routes == {"payment.intent_requested": ("payments",),
                             "payment.refund_requested": ("payments",)}
    assert config.routed_types("payments") == frozenset(
        {"payment.intent_requested", "payment.refund_requested"})
    assert "sk_test_1" not in repr(config.integrations["payments"])


def test_defaults() -> None:
    config = parse('[integrations.p]\nkind = "payments"\nbase_url = "https://api.stripe.com"\n'
                   'credentials = { api_key = "sk" }\n')
    p = config.integrations["p"]
    assert (p.concurrency, p.rate_per_s, p.burst, p.timeout_s) == (64, 200.0, 50, 10.0)
    assert (p.retry, p.breaker) == (RetryConfig(), BreakerConfig())
    assert p.retry.topics == ("30s", "5m", "1h")
    assert config.routes == {}


def test_unknown_event_type_names_its_line() -> None:
    text = GOOD + '"payment.teleported" = ["payments"]\n'
    assert error_of(text) == (
        'hub.toml:15: routes."payment.teleported": unknown event type \'payment.teleported\'; '
        "no schema in schemas/ (known: payment.intent_requested, payment.refund_requested, "
        "sms.requested)")


def test_unknown_integration_names_its_line() -> None:
    text = GOOD.replace('"payment.refund_requested" = "payments"',
                        '"payment.refund_requested" = ["payments", "stripe"]')
    assert error_of(text) == (
        'hub.toml:14: routes."payment.refund_requested": unknown integration \'stripe\'; '
        "configured: ['payments'] ([integrations.<name>])")


def test_a_type_the_kind_cannot_handle() -> None:
    assert error_of(GOOD + '"sms.requested" = ["payments"]\n') == (
        'hub.toml:15: routes."sms.requested": integration \'payments\' (kind payments) cannot '
        "handle sms.requested; it handles ['payment.intent_requested', 'payment.refund_requested']")


def test_missing_secret_names_the_variable_and_line() -> None:
    assert error_of(GOOD, env={}) == (
        "hub.toml:4: integrations.payments.credentials.api_key: "
        "environment variable STRIPE_API_KEY is not set or empty")


def test_missing_credential() -> None:
    text = GOOD.replace('credentials = { api_key = "env:STRIPE_API_KEY" }', "credentials = {}")
    assert error_of(text) == (
        "hub.toml:4: integrations.payments.credentials: missing credential 'api_key' "
        "(a payments integration needs ['api_key'])")


@pytest.mark.parametrize(("old", "new", "message"), [
    ('kind = "payments"', 'kind = "fax"',
     "hub.toml:2: integrations.payments.kind: unknown kind 'fax'; "
     "known: ['accounting', 'email', 'payments', 'sms']"),
    ('base_url = "http://127.0.0.1:8900/payments/"', 'base_url = "ftp://x"',
     "hub.toml:3: integrations.payments.base_url: expected an http(s):// URL, got 'ftp://x'"),
    ("concurrency = 32", "concurrency = 0",
     "hub.toml:5: integrations.payments.concurrency: expected a positive integer, got 0"),
    ("concurrency = 32", "concurency = 32",
     "hub.toml:5: integrations.payments.concurency: unknown key; known: ['base_url', 'breaker', "
     "'burst', 'concurrency', 'credentials', 'kind', 'options', 'rate_per_s', 'retry', "
     "'timeout_s']"),
    ('topics = ["1s", "2s"]', 'topics = ["2s", "1s"]',
     "hub.toml:9: integrations.payments.retry.topics: delays must be distinct and growing"),
    ('topics = ["1s", "2s"]', 'topics = ["1s", "2d"]',
     "hub.toml:9: integrations.payments.retry.topics: retry delay '2d': expected a positive "
     "count of s, m or h (30s, 5m, 1h)"),
    ("failure_ratio = 0.6", "failure_ratio = 1.5",
     "hub.toml:10: integrations.payments.breaker.failure_ratio: a fraction in (0, 1], got 1.5"),
    ("cap = 2.0", "cap = 2.0, jitter = 1",
     "hub.toml:9: integrations.payments.retry.jitter: unknown key; "
     "known: ['attempts', 'base', 'cap', 'topics']"),
])
def test_bad_values_name_key_and_line(old: str, new: str, message: str) -> None:
    assert old in GOOD
    assert error_of(GOOD.replace(old, new)) == message


def test_consume_names_resolve_before_anything_connects() -> None:
    from consumers.runner import resolve_names
    from hub.bootstrap import Runtime
    from hub.config import Settings
    from hub.devstack.state import Servers
    from hub.schemastore import SchemaStore
    from hub.topics import Topics

    text = GOOD + ('\n[integrations.texts]\nkind = "sms"\nbase_url = "http://sms"\n'
                   'credentials = { account_sid = "AC1", auth_token = "t" }\n')
    rt = Runtime(settings=Settings.from_env({}), config=parse(text),
                 servers=Servers("127.0.0.1:9", "postgresql://x"), schemas=SchemaStore.load(),
                 topics=Topics())
    assert resolve_names(rt, ["payments", "payments"]) == ["payments"]
    with pytest.raises(ConfigError) as unknown:
        resolve_names(rt, ["stripe"])
    assert str(unknown.value) == "unknown integration 'stripe'; configured: ['payments', 'texts']"
    assert resolve_names(rt, ["all"]) == ["payments", "texts"]  # every kind has an adapter
