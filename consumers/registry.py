"""Which adapter serves each integration kind (`kind = "..."` in `[integrations.<name>]`)."""
from __future__ import annotations

from collections.abc import Callable

import aiohttp

from consumers.payments import PaymentsIntegration
from consumers.ports import Integration
from hub.errors import ConfigError
from hub.routing import IntegrationConfig

__all__ = ["ADAPTERS", "build_integration"]

Factory = Callable[[IntegrationConfig, aiohttp.ClientSession], Integration]

# Add a kind here once its adapter exists; its `handles` must equal hub.routing.KINDS[kind].types.
ADAPTERS: dict[str, Factory] = {
    "payments": PaymentsIntegration,
}


def build_integration(config: IntegrationConfig, session: aiohttp.ClientSession) -> Integration:
    """The adapter for `config.kind`; ConfigError when that kind has none yet."""
    factory = ADAPTERS.get(config.kind)
    if factory is None:
        raise ConfigError(
            f"integrations.{config.name}: kind {config.kind!r} has no worker adapter yet "
            f"(available: {sorted(ADAPTERS)})")
    return factory(config, session)
