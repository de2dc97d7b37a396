"""One contract every provider adapter passes, run against each real adapter and its simulator.

To add an adapter: subclass `AdapterContract`, set `simulator`, and implement `adapter`,
`event` and `bad_event`; the inherited tests then run against it.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from consumers.errors import PermanentError, RateLimited, TransientError
from consumers.payments import PaymentsIntegration
from consumers.ports import Effect, Integration
from hub.db import connect
from hub.envelope import Event
from hub.routing import KINDS, IntegrationConfig, RetryConfig
from hub.simulators import SimulatorConfig, run_simulators
from tests.provider_sync import intent, sim

pytestmark = pytest.mark.integration


class AdapterContract:
    simulator: str
    kind: str
    table: str

    def adapter(self, url: str, session: aiohttp.ClientSession) -> Integration:
        raise NotImplementedError

    def event(self, n: int) -> Event:
        raise NotImplementedError

    def bad_event(self) -> Event:
        """An event the provider refuses with a 4xx."""
        raise NotImplementedError

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[tuple[Integration, str]]:
        async with run_simulators(SimulatorConfig(), only=self.simulator) as sims, \
                aiohttp.ClientSession() as session:
            url = sims.urls[self.simulator]
            yield self.adapter(url, session), url

    async def test_handles_exactly_its_kind(self) -> None:
        async with self.provider() as (adapter, _):
            assert adapter.handles == KINDS[self.kind].types

    async def test_perform_returns_the_providers_reference(self) -> None:
        async with self.provider() as (adapter, _):
            event = self.event(1)
            effect = await adapter.perform(event, adapter.idempotency_key(event))
            assert isinstance(effect, Effect) and effect.ok
            assert effect.provider_reference
            assert effect.action == adapter.action(event)

    async def test_the_same_key_twice_is_one_effect(self) -> None:
        async with self.provider() as (adapter, url):
            event = self.event(2)
            key = adapter.idempotency_key(event)
            first = await adapter.perform(event, key)
            second = await adapter.perform(event, key)
            if key is not None:
                assert first.provider_reference == second.provider_reference
                assert sum((await sim(url, "/_sim/effects"))["counts"].values()) == 1

    async def test_provider_errors_are_classified(self) -> None:
        async with self.provider() as (adapter, url):
            with pytest.raises(PermanentError) as permanent:
                bad = self.bad_event()
                await adapter.perform(bad, adapter.idempotency_key(bad))
            assert permanent.value.status is not None and 400 <= permanent.value.status < 500
            assert permanent.value.request is not None
            await sim(url, "/_sim/faults", {"burst_500": 1, "rate_limit": 1, "retry_after_s": 2})
            event = self.event(3)
            with pytest.raises(TransientError) as transient:
                await adapter.perform(event, adapter.idempotency_key(event))
            assert transient.value.status == 500
            with pytest.raises(RateLimited) as limited:
                await adapter.perform(event, adapter.idempotency_key(event))
            assert limited.value.retry_after == 2.0

    async def test_an_unreachable_provider_is_transient(self) -> None:
        async with self.provider() as (adapter, _):
            pass  # the simulator is gone now
        async with aiohttp.ClientSession() as session:
            adapter = self.adapter(_closed_url(), session)
            event = self.event(4)
            with pytest.raises(TransientError):
                await adapter.perform(event, adapter.idempotency_key(event))

    async def test_record_writes_one_row_per_event(self, servers: Any, db_schema: str) -> None:
        async with self.provider() as (adapter, _):
            event = self.event(5)
            effect = await adapter.perform(event, adapter.idempotency_key(event))
        conn = await connect(servers.database_url, db_schema)
        try:
            async with conn.transaction():
                await adapter.record(conn, event, effect)
            async with conn.transaction():
                await adapter.record(conn, event, effect)
            rows = await conn.fetch(f"SELECT event_id::text AS id FROM {self.table}")  # noqa: S608
            assert [r["id"] for r in rows] == [event.id]
        finally:
            await conn.close()


def _closed_url() -> str:
    from hub.devstack.procs import free_port

    return f"http://127.0.0.1:{free_port()}"


class TestPaymentsAdapter(AdapterContract):
    simulator = "payments"
    kind = "payments"
    table = "payment_attempts"

    def adapter(self, url: str, session: aiohttp.ClientSession) -> Integration:
        config = IntegrationConfig(name="payments", kind="payments", base_url=url,
                                   credentials={"api_key": "sk_test_simulator"}, timeout_s=2.0,
                                   retry=RetryConfig())
        return PaymentsIntegration(config, session)

    def event(self, n: int) -> Event:
        return intent(f"inv-c{n}", amount=1000 + n)

    def bad_event(self) -> Event:
        return intent("inv-bad", currency="XXX")

    async def test_a_declined_card_is_a_done_negative_effect(self) -> None:
        async with self.provider() as (adapter, _):
            event = intent("inv-declined", amount=402)  # the simulator declines 402
            effect = await adapter.perform(event, adapter.idempotency_key(event))
        assert (effect.ok, effect.status) == (False, "declined")
        assert effect.provider_reference is not None
        assert effect.provider_reference.startswith("pi_")

    async def test_refund_key_is_payment_amount_and_action(self) -> None:
        async with self.provider() as (adapter, _):
            event = intent("inv-paid", amount=5000)
            paid = await adapter.perform(event, adapter.idempotency_key(event))
            refund = Event(**{**_fields(event), "type": "payment.refund_requested",
                              "data": {"payment_id": paid.provider_reference, "invoice_id": "inv-paid",
                                       "amount_minor": 1500, "currency": "USD",
                                       "reason": "requested_by_customer"}})
            key = adapter.idempotency_key(refund)
            assert key == f"{paid.provider_reference}:refund:1500"
            effect = await adapter.perform(refund, key)
        assert (effect.ok, effect.action, effect.amount_minor) == (True, "refund", 1500)
        assert effect.provider_reference is not None
        assert effect.provider_reference.startswith("re_")


def _fields(event: Event) -> dict[str, Any]:
    return {f: getattr(event, f) for f in ("id", "source", "type", "time", "schema_version",
                                           "correlation_id", "payload_sha256", "data", "subject")}
