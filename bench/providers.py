"""How the worker groups start a provider simulator and the worker that calls it."""
from __future__ import annotations

import sys

from hub.simulators.config import DEV_ACCOUNTING_TOKEN, DEV_STRIPE_API_KEY

__all__ = ["CONCURRENCY", "accounting_integration", "consume_argv", "payments_integration",
           "simulator_argv"]

CONCURRENCY = 64  # per partition


def simulator_argv(port: int, latency_ms: float, only: str = "payments") -> list[str]:
    """One simulator alone, in a process of its own, answering after `latency_ms`."""
    return [sys.executable, "-m", "hub.simulators", "--only", only, "--port", str(port),
            "--latency-ms", str(latency_ms), "--seed", "1"]


def _integration(name: str, kind: str, url: str, credentials: str, routed: str) -> str:
    # No effective rate limit: the bench measures the worker, not the token bucket.
    return "\n".join([
        f"[integrations.{name}]", f'kind = "{kind}"', f'base_url = "{url}"',
        f"credentials = {{ {credentials} }}", f"concurrency = {CONCURRENCY}",
        "rate_per_s = 1000000", "burst = 100000", "timeout_s = 10", "",
        "[routes]", f'"{routed}" = ["{name}"]', "",
    ])


def payments_integration(sim_url: str) -> str:
    """`[integrations.payments]` calling `sim_url`, routed payment.intent_requested."""
    return _integration("payments", "payments", sim_url, f'api_key = "{DEV_STRIPE_API_KEY}"',
                        "payment.intent_requested")


def accounting_integration(sim_url: str) -> str:
    """`[integrations.accounting]` calling `sim_url`, routed payment.succeeded."""
    return _integration("accounting", "accounting", sim_url,
                        f'token = "{DEV_ACCOUNTING_TOKEN}"', "payment.succeeded")


def consume_argv(name: str) -> list[str]:
    return [sys.executable, "-m", "hub", "consume", name]
