"""Real data for the operator page test: a consumer group behind on hub.payments, a dead
letter as the worker writes one, reconciliation rows (through the projections runtime)
with drift, an audit story, and provider health as the worker records it."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hub import codec
from hub.db import create_pool
from hub.envelope import Event
from hub.producer import HubProducer, producer_config
from hub.provider_health import note_breaker
from hub.redelivery import Origin, failure_headers
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections.audit import AuditProjection
from projections.reconciliation import ReconciliationProjection
from projections.runtime import ProjectionRunner
from tests.examples import EXAMPLES, example_event
from tests.history import make_topics, produce, wait_caught_up
from tests.operator_cli import produce as produce_raw

STORE = SchemaStore.load()
NOW = datetime.now(UTC).replace(microsecond=0)
DEAD_ID = "0195b000-0000-7000-8000-0000000000dd"
# Comes from outside (a provider's answer): the page must show it as text.
DEAD_REASON = 'provider answered 400: amount must be positive <img src=x onerror="window.__xss=1">'
DEAD_AT = NOW - timedelta(minutes=10)
BEHIND_S = 120  # the unconsumed records were written this long ago


def _id(n: int) -> str:
    return f"0195b000-0000-7000-8000-{n:012d}"


def _event(n: int, type_: str, subject: str, data: dict[str, Any], source: str,
           causation: str | None = None) -> Event:
    return Event(id=_id(n), source=source, type=type_, time=NOW - timedelta(hours=1, minutes=-n),
                 schema_version=1, correlation_id=causation or _id(n), payload_sha256="c" * 64,
                 data=data, subject=subject, causation_id=causation)


def reconciliation_events() -> list[Event]:
    """INV-UI-1 paid, not posted; INV-UI-2 unpaid; INV-UI-3 partly paid; a payment without
    an invoice; INV-UI-4 paid and posted (matched)."""
    day = NOW - timedelta(days=1)

    def invoice(n: int, inv: str, amount: int) -> Event:
        data = {**EXAMPLES["invoice.issued"], "invoice_id": inv, "amount_minor": amount,
                "currency": "EUR", "issued_at": day, "due_at": None}
        return _event(n, "invoice.issued", inv, data, "/services/billing")

    def paid(n: int, inv: str | None, pid: str, amount: int) -> Event:
        data = {**EXAMPLES["payment.succeeded"], "payment_id": pid, "invoice_id": inv,
                "amount_minor": amount, "currency": "EUR", "occurred_at": day}
        return _event(n, "payment.succeeded", inv or pid, data, "/providers/stripe")

    posted = {**EXAMPLES["integration.outcome"], "integration": "accounting", "action": "post_payment",
              "event_id": _id(9), "event_type": "payment.succeeded", "status": "succeeded",
              "provider": "accounting", "provider_reference": "xj_ui_4", "amount_minor": 3000,
              "currency": "EUR"}
    return [
        invoice(1, "INV-UI-1", 4200), paid(2, "INV-UI-1", "pi_ui_1", 4200),
        invoice(3, "INV-UI-2", 1000),
        invoice(4, "INV-UI-3", 5000), paid(5, "INV-UI-3", "pi_ui_3", 2000),
        paid(6, None, "pi_ui_orphan", 700),
        invoice(8, "INV-UI-4", 3000), paid(9, "INV-UI-4", "pi_ui_4", 3000),
        _event(10, "integration.outcome", "INV-UI-4", posted, "/workers/accounting", _id(9)),
    ]


def behind_group(bootstrap: str, topics: Topics) -> None:
    """Four records at the end of hub.payments[0], two minutes old; the payments group
    committed all but the last three."""
    old_ms = int((time.time() - BEHIND_S) * 1000)
    records = []
    for n in range(4):
        e = example_event("payment.intent_requested", id=_id(100 + n), subject=f"lagging-{n}")
        records.append({"value": codec.encode(STORE, e), "key": e.key, "headers": e.headers(),
                        "partition": 0, "timestamp": old_ms})
    produce_raw(bootstrap, topics.name("payments"), records)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": topics.group("payments"),
                  "enable.auto.commit": False})
    try:
        _low, end = c.get_watermark_offsets(TopicPartition(topics.name("payments"), 0), timeout=10)
        for attempt in range(40):  # a fresh broker loads its group coordinator first
            try:
                c.commit(offsets=[TopicPartition(topics.name("payments"), 0, end - 3)],
                         asynchronous=False)
                break
            except KafkaException:
                if attempt == 39:
                    raise
                time.sleep(0.25)
    finally:
        c.close()


def dead_letter(bootstrap: str, topics: Topics) -> None:
    e = example_event("payment.intent_requested", id=DEAD_ID, subject="INV-UI-DEAD")
    headers = failure_headers(
        e.headers(), origin=Origin(topics.name("payments"), 0, 7), group=topics.group("payments"),
        error_class="PermanentError", error_message=DEAD_REASON, attempts=4,
        first_failure=DEAD_AT - timedelta(minutes=5), last_failure=DEAD_AT)
    produce_raw(bootstrap, topics.dlq("payments"),
                [{"value": codec.encode(STORE, e), "key": e.key, "headers": headers, "partition": 0}])


async def project(bootstrap: str, database_url: str, schema: str, topics: Topics) -> None:
    """Run the reconciliation and audit projections until they applied everything."""
    pool = await create_pool(database_url, schema, min_size=2, max_size=6)
    producer = HubProducer(producer_config(bootstrap))
    stop = asyncio.Event()
    chosen = [ReconciliationProjection(), AuditProjection()]
    runners = [ProjectionRunner(p, pool, producer, STORE, topics, bootstrap, batch_size=100,
                                watch_interval_s=0.2) for p in chosen]
    tasks = [asyncio.create_task(r.run(stop)) for r in runners]
    try:
        for p in chosen:
            await wait_caught_up(pool, p, bootstrap, topics, within=45)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await asyncio.to_thread(producer.close, 5)
        await pool.close()


async def provider_health(database_url: str, schema: str, topics: Topics) -> None:
    """Four events finished in the last hour (3 done in 1, 2, 3 s; 1 dead-lettered in 4 s),
    and the breaker's last change, written by the worker's own hook."""
    pool = await create_pool(database_url, schema, min_size=1, max_size=2)
    group = topics.group("payments")
    finished = NOW - timedelta(minutes=5)
    try:
        for n, (status, seconds) in enumerate([("done", 1), ("done", 2), ("done", 3),
                                              ("dead_lettered", 4)]):
            await pool.execute(
                "INSERT INTO processed_events (group_name, event_id, event_type, status, attempts,"
                " reserved_at, finished_at) VALUES ($1, $2, 'payment.intent_requested', $3, 1, $4, $5)",
                group, _id(200 + n), status, finished - timedelta(seconds=seconds), finished)
        note_breaker(pool, "payments", group, "stripe", "open", "6 of 10 calls failed in 30 s")
        for _ in range(100):
            if await pool.fetchval("SELECT count(*) FROM provider_health"):
                break
            await asyncio.sleep(0.05)
    finally:
        await pool.close()


async def load(servers: Any, topics: Topics, schema: str) -> None:
    bootstrap = servers.kafka_bootstrap
    await asyncio.to_thread(make_topics, bootstrap, topics,
                            [topics.dlq("payments"), topics.retry("payments", "30s")])
    await asyncio.to_thread(produce, bootstrap, topics, reconciliation_events(), STORE)
    await asyncio.to_thread(behind_group, bootstrap, topics)
    await asyncio.to_thread(dead_letter, bootstrap, topics)
    await project(bootstrap, servers.database_url, schema, topics)
    await provider_health(servers.database_url, schema, topics)
