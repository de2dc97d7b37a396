"""Which adapter serves each integration kind (`kind = "..."` in `[integrations.<name>]`)."""
from __future__ import annotations

from typing import Any, Protocol

import aiohttp

from consumers.accounting import AccountingIntegration
from consumers.email import EmailIntegration
from consumers.payments import PaymentsIntegration
from consumers.ports import Integration
from consumers.sms import SmsIntegration
from hub.errors import ConfigError
from hub.routing import IntegrationConfig

__all__ = ["ADAPTERS", "Factory", "build_integration"]


class Factory(Protocol):
    """An adapter class: built from its config, the shared HTTP session and the database
    pool (SMS reserves sends in it, e-mail reads receipt addresses from it)."""

    def __call__(self, config: IntegrationConfig, session: aiohttp.ClientSession, *,
                 pool: Any) -> Integration: ...


# Add a kind here once its adapter exists; its `handles` must equal hub.routing.KINDS[kind].types.
ADAPTERS: dict[str, Factory] = {
    "payments": PaymentsIntegration,
    "sms": SmsIntegration,
    "accounting": AccountingIntegration,
    "email": EmailIntegration,
}


def build_integration(config: IntegrationConfig, session: aiohttp.ClientSession, *,
                      pool: Any) -> Integration:
    """The adapter for `config.kind`; ConfigError when that kind has none yet, or when the
    adapter finds its options wrong."""
    factory = ADAPTERS.get(config.kind)
    if factory is None:
        raise ConfigError(
            f"integrations.{config.name}: kind {config.kind!r} has no worker adapter yet "
            f"(available: {sorted(ADAPTERS)})")
    return factory(config, session, pool=pool)
