"""One payment is one trace: the publish request, the Kafka write, the worker and the
provider call, recorded by an in-memory span exporter."""
from __future__ import annotations

import aiohttp
import pytest

from hub.apikeys import ApiKeyStore
from hub.db import connect
from hub.simulators import SimulatorConfig, run_simulators
from tests.provider_sync import payments_config, running, runtime, sim, wait_until
from tests.stack import run_ingress

pytestmark = pytest.mark.e2e

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_one_payment_is_one_trace(servers, topic_prefix, db_schema, tmp_path,
                                        span_exporter) -> None:
    span_exporter.clear()
    conn = await connect(servers.database_url, db_schema)
    try:
        key, _ = await ApiKeyStore(conn).create("billing", ["payment.*"])
    finally:
        await conn.close()
    async with run_simulators(SimulatorConfig(), only="payments") as sims:
        rt = runtime(tmp_path / "worker", servers, topic_prefix, db_schema,
                     payments_config(sims.payments))
        async with run_ingress(tmp_path / "ingress", servers, topic_prefix, db_schema) as ing, \
                running(rt):
            async with aiohttp.ClientSession() as s, s.post(
                    f"{ing.url}/events", headers={"Authorization": f"Bearer {key}",
                                                  "traceparent": CALLER},
                    json={"type": "payment.intent_requested", "subject": "INV-TRACE",
                          "data": {"invoice_id": "INV-TRACE", "amount_minor": 990,
                                   "currency": "EUR", "customer_id": None,
                                   "customer_email": None, "description": None}}) as r:
                assert r.status == 202

            async def charged() -> bool:
                return int((await sim(sims.payments, "/_sim/effects"))["count"]) == 1

            await wait_until(charged, what="the charge at the payments simulator")

            async def client_span_ended() -> bool:
                return any(sp.name == "stripe create_payment_intent"
                           for sp in span_exporter.get_finished_spans())

            await wait_until(client_span_ended, what="the provider call span")
    spans = {sp.name: sp for sp in span_exporter.get_finished_spans()}
    trace_id = int("4bf92f3577b34da6a3ce929d0e0e4736", 16)
    server = spans["POST /events"]
    produce = spans[f"{topic_prefix}hub.payments publish"]
    consume = spans[f"{topic_prefix}hub.payments process"]
    call = spans["stripe create_payment_intent"]
    assert {sp.context.trace_id for sp in (server, produce, consume, call)} == {trace_id}
    assert produce.parent.span_id == server.context.span_id
    assert call.parent.span_id == consume.context.span_id
    assert consume.attributes["messaging.consumer.group.name"] == f"{topic_prefix}hub.payments"
    assert call.attributes["hub.idempotency_key"] == "INV-TRACE:create_intent"
