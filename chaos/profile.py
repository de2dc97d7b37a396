"""What one chaos run is: its size, its seed, and the hub.toml its stack runs with."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from hub.devstack.stack import DEV_ROUTES

__all__ = ["ROUTES", "Profile", "StackSecrets", "write_config"]

# Every event type the workload causes that needs a provider goes to the simulated provider,
# exactly as in the config `hub dev up` writes.
ROUTES: dict[str, list[str]] = DEV_ROUTES
RECEIPTS_TO = "accounts@example.com"
SENDER = "+15550001111"


@dataclass(frozen=True)
class Profile:
    """The size of a run. `window_s`: how long the workload and the faults go on."""

    name: str
    requests: int
    faults: int
    window_s: float
    drain_s: float

    @classmethod
    def short(cls) -> Profile:
        return cls("short", requests=300, faults=8, window_s=50.0, drain_s=90.0)

    @classmethod
    def long(cls) -> Profile:
        return cls("long", requests=3000, faults=36, window_s=420.0, drain_s=180.0)


@dataclass(frozen=True)
class StackSecrets:
    """Fresh secrets of one run; every one of them must stay out of every output."""

    stripe_webhook: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(24))
    twilio_token: str = field(default_factory=lambda: secrets.token_hex(24))
    stripe_api_key: str = field(default_factory=lambda: "sk_test_" + secrets.token_hex(16))
    twilio_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    accounting_token: str = field(default_factory=lambda: secrets.token_hex(20))
    postmark_token: str = field(default_factory=lambda: secrets.token_hex(20))
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def write_config(path: Path, secret: StackSecrets, *, ingress_port: int, sim_port: int) -> None:
    """A hub.toml: Stripe and Twilio endpoints, the four integrations against the simulators
    with short retry delays (the run must drain in seconds), and an admin token."""
    sims = f"http://127.0.0.1:{sim_port}"
    retry = '{ attempts = 4, base = 0.1, cap = 1.0, topics = ["1s", "3s"] }'
    breaker = "{ failure_ratio = 0.5, window_s = 10, min_calls = 20, cooldown_s = 3 }"
    credentials = {
        "payments": f'{{ api_key = "{secret.stripe_api_key}" }}',
        "sms": f'{{ account_sid = "{secret.twilio_sid}", auth_token = "{secret.twilio_token}" }}',
        "accounting": f'{{ token = "{secret.accounting_token}" }}',
        "email": f'{{ token = "{secret.postmark_token}" }}',
    }
    options = {
        # Longer than the slowest answer `provider_slow` causes (6.4 s): see consumers/sms.py.
        "sms": f'options = {{ from = "{SENDER}", resend_after_s = 8 }}',
        "email": f'options = {{ from = "billing@example.com", receipt_to = "{RECEIPTS_TO}" }}',
    }
    lines = [
        "# Written by `python -m chaos` for one run.",
        "[ingress]", 'host = "127.0.0.1"', f"port = {ingress_port}",
        f'public_url = "http://127.0.0.1:{ingress_port}"',
        "ack_timeout_s = 3.0", "retry_after_s = 1", f'admin_token = "{secret.admin_token}"', "",
        "[kafka]", "partitions = 3", "session_timeout_ms = 6000", "commit_interval_ms = 200", "",
        "[endpoints.stripe]", 'scheme = "stripe"', 'provider = "stripe"',
        f'secrets = ["{secret.stripe_webhook}"]', "",
        "[endpoints.twilio]", 'scheme = "twilio"', 'provider = "twilio"',
        f'secrets = ["{secret.twilio_token}"]', "",
    ]
    for name, creds in credentials.items():
        lines += [f"[integrations.{name}]", f'kind = "{name}"', f'base_url = "{sims}/{name}"',
                  f"credentials = {creds}", "concurrency = 16", "rate_per_s = 500", "burst = 100",
                  "timeout_s = 2.0", f"retry = {retry}", f"breaker = {breaker}",
                  options.get(name, ""), ""]
    lines.append("[routes]")
    lines += [f'"{t}" = {json.dumps(names)}' for t, names in ROUTES.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
