"""Start-up configuration of the provider simulators."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.simulators.calllog import DEFAULT_CAP
from hub.simulators.faults import FaultConfig

__all__ = ["SIMULATORS", "SimulatorConfig"]

SIMULATORS = ("payments", "sms", "accounting", "email")

# Well-known development credentials of the simulators, not secrets of any real account.
DEV_STRIPE_API_KEY = "sk_test_simulator"  # noqa: S105
DEV_STRIPE_WEBHOOK_SECRET = "whsec_simulator"  # noqa: S105
DEV_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
DEV_TWILIO_AUTH_TOKEN = "twilio_simulator_token"  # noqa: S105
DEV_ACCOUNTING_TOKEN = "accounting_simulator_token"  # noqa: S105
DEV_POSTMARK_TOKEN = "postmark_simulator_token"  # noqa: S105


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator run needs; defaults give a well-behaved, fault-free run.

    faults: per simulator name ("payments", "sms", "accounting", "email"); a missing name
        means no faults. These are also what `POST /_sim/reset` goes back to.
    payments_webhook_url: where Stripe-style webhooks go (None: not sent).
    decline_amounts: amounts (minor units) whose confirmation is declined (402, card_error)
        and answered by a `payment_intent.payment_failed` webhook.
    sms_status_callback_url: default StatusCallback (a message's own StatusCallback wins).
    sms_bad_number_pattern: regex of numbers that are accepted but end `undelivered`
        with ErrorCode 30003.
    callback_*: delay before each callback, attempts per callback, backoff base (seconds).
    """

    seed: int = 0
    faults: Mapping[str, FaultConfig] = field(default_factory=dict)
    log_cap: int = DEFAULT_CAP
    callback_delay_s: float = 0.05
    callback_attempts: int = 5
    callback_backoff_s: float = 0.2
    stripe_api_key: str = DEV_STRIPE_API_KEY
    stripe_webhook_secret: str = DEV_STRIPE_WEBHOOK_SECRET
    payments_webhook_url: str | None = None
    decline_amounts: frozenset[int] = frozenset({402})
    twilio_account_sid: str = DEV_TWILIO_ACCOUNT_SID
    twilio_auth_token: str = DEV_TWILIO_AUTH_TOKEN
    sms_status_callback_url: str | None = None
    sms_bad_number_pattern: str = r"^\+1500555\d{4}$"
    accounting_token: str = DEV_ACCOUNTING_TOKEN
    postmark_token: str = DEV_POSTMARK_TOKEN

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(SIMULATORS)
        if unknown:
            raise ValueError(
                f"faults for unknown simulator(s) {sorted(unknown)}; known: {list(SIMULATORS)}"
            )

    def faults_for(self, name: str) -> FaultConfig:
        return self.faults.get(name, FaultConfig())
