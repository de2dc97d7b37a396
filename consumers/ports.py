"""The port every provider integration implements, and what a provider call produced."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.envelope import Event

__all__ = ["Effect", "Integration"]


@dataclass(frozen=True)
class Effect:
    """What one provider interaction did, as recorded and reported.

    `ok` is False when the provider processed the request but the business answer is
    negative (a declined card): the event is done, the outcome says failed, nothing is
    retried. `request`/`response` are redacted by the worker before anything stores them.
    """

    action: str
    status: str
    provider_reference: str | None
    request: Mapping[str, Any]
    response: Any
    ok: bool = True
    amount_minor: int | None = None
    currency: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class Integration(Protocol):
    """One provider integration. The worker does dedupe, retries, rate limit, breaker,
    outcomes and dead letters; the integration only knows the provider.

    Subclass it explicitly to inherit the default `resolve_interrupted`.
    """

    name: str
    """The integration's name in the config file (`[integrations.<name>]`)."""
    provider: str
    """Who is called, for outcomes and logs (e.g. "stripe")."""
    handles: frozenset[str]
    """Event types this integration can act on."""

    def action(self, event: Event) -> str:
        """What is done for `event`, e.g. "create_payment_intent" (outcomes, records)."""
        ...

    def idempotency_key(self, event: Event) -> str | None:
        """The provider idempotency key derived from the business entity and the action
        (`<invoice_id>:create_intent`), or None where the provider takes none."""
        ...

    async def perform(self, event: Event, idempotency_key: str | None) -> Effect:
        """Call the provider once. Raises consumers.errors.ProviderError (classified)."""
        ...

    async def record(self, conn: Any, event: Event, effect: Effect) -> None:
        """Write the interaction to the integration's own table with `conn`, inside the
        worker's transaction (which also marks the event done or dead-lettered)."""
        ...

    async def record_many(self, conn: Any, done: Sequence[tuple[Event, Effect]]) -> None:
        """`record` for several interactions in the worker's one transaction (group commit);
        override it to write them in one round trip."""
        for event, effect in done:
            await self.record(conn, event, effect)

    async def resolve_interrupted(self, event: Event) -> Effect | None:
        """For an event reserved earlier but never finished (crash mid-call, or retried):
        the effect if the provider already did it, else None to call `perform` again.
        Providers with idempotency keys need nothing here: calling again is safe."""
        return None

    async def close(self) -> None:
        """Release what the integration holds (HTTP sessions are owned by the caller)."""
        return None
