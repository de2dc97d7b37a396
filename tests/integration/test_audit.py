"""The audit projection: one story across systems, a rebuild with the same hashes, and
`hub audit verify` naming a row altered, deleted or inserted behind hub's back."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from hub.db import create_pool
from hub.envelope import Event
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections.audit import AuditProjection
from projections.rebuild import rebuild
from projections.runtime import ProjectionRunner
from projections.synthetic import HistoryGen
from tests.examples import EXAMPLES
from tests.history import hub_env, make_topics, produce, run_hub, wait_caught_up

pytestmark = pytest.mark.integration

T0 = datetime(2025, 5, 2, 10, 0, tzinfo=UTC)
HASHED = ("topic, partition, seq, kafka_offset, event_id, event_type, kind, source, subject,"
          " refs, event_time, correlation_id, causation_id, payload_sha256, record_sha256,"
          " amount_minor, currency, status, summary, prev_hash, hash")


def _event(id_: str, type_: str, subject: str, data: dict, at: datetime, source: str,
           causation: str | None = None, correlation: str | None = None) -> Event:
    return Event(id=id_, source=source, type=type_, time=at, schema_version=1,
                 correlation_id=correlation or id_, payload_sha256="c" * 64, data=data,
                 subject=subject, causation_id=causation)


def story_events() -> list[Event]:
    """A webhook that confirms a payment of INV-STORY, its outcomes, and an SMS."""
    wh, pay = "0195a000-0000-7000-8000-000000000001", "0195a000-0000-7000-8000-000000000002"
    inv = "0195a000-0000-7000-8000-000000000003"
    invoice = {**EXAMPLES["invoice.issued"], "invoice_id": "INV-STORY", "amount_minor": 4200,
               "currency": "EUR", "issued_at": T0}
    webhook = {**EXAMPLES["webhook.received"], "provider_event_id": "evt_story",
               "received_at": T0 + timedelta(minutes=5)}
    payment = {**EXAMPLES["payment.succeeded"], "payment_id": "pi_story", "invoice_id": "INV-STORY",
               "amount_minor": 4200, "currency": "EUR", "occurred_at": T0 + timedelta(minutes=5)}
    outcome = {**EXAMPLES["integration.outcome"], "integration": "accounting",
               "action": "post_payment", "event_id": pay, "event_type": "payment.succeeded",
               "provider_reference": "xj_1", "amount_minor": 4200, "currency": "EUR"}
    sms = {**EXAMPLES["sms.requested"], "to": "+15550001111"}
    at = T0 + timedelta(minutes=5)
    return [
        _event(inv, "invoice.issued", "INV-STORY", invoice, T0, "/services/billing"),
        _event(pay, "payment.succeeded", "INV-STORY", payment, at, "/providers/stripe", wh, wh),
        _event(wh, "webhook.received", "stripe:evt_story", webhook, at, "/webhooks/stripe"),
        _event("0195a000-0000-7000-8000-000000000004", "integration.outcome", "INV-STORY",
               {**outcome, "status": "attempted", "provider_reference": None},
               at + timedelta(seconds=1), "/workers/accounting", pay, wh),
        _event("0195a000-0000-7000-8000-000000000005", "integration.outcome", "INV-STORY",
               {**outcome, "status": "succeeded"}, at + timedelta(seconds=2),
               "/workers/accounting", pay, wh),
        _event("0195a000-0000-7000-8000-000000000006", "sms.requested", "+15550001111", sms,
               at + timedelta(seconds=3), "/services/notify"),
    ]


async def test_audit_story_rebuild_and_tampering(servers, topic_prefix, db_schema,
                                                 tmp_path: Path) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, topics)
    gen = HistoryGen(seed=3, now=datetime.now(UTC), run="a")
    events = [e for c in gen.chunks(250) for e in c]
    story = story_events()
    n = await asyncio.to_thread(produce, servers.kafka_bootstrap, topics,
                                [*events, *story, story[1]])  # the payment arrives twice
    unique = len({e.id for e in events} | {e.id for e in story})
    pool = await create_pool(servers.database_url, db_schema, min_size=1, max_size=4)
    producer = HubProducer(producer_config(servers.kafka_bootstrap))
    audit = AuditProjection()
    stop = asyncio.Event()
    runner = ProjectionRunner(audit, pool, producer, SchemaStore.load(), topics,
                              servers.kafka_bootstrap, batch_size=200)
    task = asyncio.create_task(runner.run(stop))
    env = hub_env(servers, topic_prefix, db_schema, tmp_path)
    try:
        await wait_caught_up(pool, audit, servers.kafka_bootstrap, topics)
        stop.set()
        await task
        async with pool.acquire() as conn:
            before = await conn.fetch(f"SELECT {HASHED} FROM audit ORDER BY topic, partition, seq")
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("UPDATE audit_v1 SET summary = 'x'")
        assert n > len(events) and len(before) == unique

        ok = await asyncio.to_thread(run_hub, ["audit", "verify"], env)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith(f"audit log intact: {unique:,} rows in ")

        shown = await asyncio.to_thread(run_hub, ["audit", "show", "INV-STORY"], env)
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert lines[0] == "INV-STORY: 5 entries"
        assert [line.split()[2:4] for line in lines[2::2]] == [
            ["event", "invoice.issued"], ["webhook", "webhook.received"],
            ["event", "payment.succeeded"], ["attempt", "integration.outcome"],
            ["outcome", "integration.outcome"]]
        assert lines[2].startswith("2025-05-02 10:00:00.000Z")
        assert "accounting post_payment for payment.succeeded attempt 1: succeeded ref xj_1" \
            in lines[10]
        phone = await asyncio.to_thread(run_hub, ["audit", "show", "+15550001111"], env)
        assert phone.stdout.splitlines()[0] == "+15550001111: 1 entries"

        # A rebuild makes the same chains, hash for hash.
        await rebuild(audit, pool=pool, producer=producer, schemas=SchemaStore.load(),
                      topics=topics, bootstrap=servers.kafka_bootstrap)
        async with pool.acquire() as conn:
            assert await conn.fetch(
                f"SELECT {HASHED} FROM audit ORDER BY topic, partition, seq") == before
            await _tampering(conn, env)
    finally:
        stop.set()
        await task
        await asyncio.to_thread(producer.close, 5)
        await pool.close()


async def _verify(env: dict[str, str]) -> tuple[int, str]:
    done = await asyncio.to_thread(run_hub, ["audit", "verify"], env)
    return done.returncode, done.stdout.splitlines()[0]


async def _tampering(conn, env: dict[str, str]) -> None:
    await conn.execute("ALTER TABLE audit_v2 DISABLE TRIGGER USER")
    victim = await conn.fetchrow(
        "SELECT * FROM audit_v2 WHERE topic LIKE '%hub.payments' AND seq = 3 AND partition = ("
        " SELECT min(partition) FROM audit_v2 WHERE topic LIKE '%hub.payments')")
    where = f"{victim['topic']}[{victim['partition']}]"
    event = victim["event_id"]

    await conn.execute("UPDATE audit_v2 SET amount_minor = amount_minor + 1 WHERE row_id = $1",
                       victim["row_id"])
    assert await _verify(env) == (1, f"audit log BROKEN at {where} seq 3 (row_id "
                                     f"{victim['row_id']}, event {event}): altered: the row's "
                                     "content does not match its hash")
    await conn.execute("UPDATE audit_v2 SET amount_minor = $2 WHERE row_id = $1",
                       victim["row_id"], victim["amount_minor"])
    assert (await _verify(env))[0] == 0

    await conn.execute("DELETE FROM audit_v2 WHERE row_id = $1", victim["row_id"])
    after = await conn.fetchrow("SELECT row_id, event_id FROM audit_v2 WHERE topic = $1 AND"
                                " partition = $2 AND seq = 4", victim["topic"],
                                victim["partition"])
    assert await _verify(env) == (1, f"audit log BROKEN at {where} seq 3 (row_id "
                                     f"{after['row_id']}, event {after['event_id']}): deleted: "
                                     "seq 3 missing before this row")
    columns = [k for k in victim.keys()]
    await conn.execute(
        f"INSERT INTO audit_v2 ({', '.join(columns)}) VALUES"
        f" ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})", *victim.values())
    assert (await _verify(env))[0] == 0

    forged = await conn.fetchval(
        "INSERT INTO audit_v2 (topic, partition, seq, kafka_offset, event_id, event_type, kind,"
        " source, subject, refs, event_time, correlation_id, causation_id, payload_sha256,"
        " record_sha256, amount_minor, currency, status, summary, prev_hash, hash)"
        " SELECT topic, partition, seq, kafka_offset, gen_random_uuid(), event_type, kind,"
        " source, subject, refs, event_time, correlation_id, causation_id, payload_sha256,"
        " record_sha256, 1, currency, status, 'refund to attacker', prev_hash, hash"
        " FROM audit_v2 WHERE row_id = $1 RETURNING row_id", victim["row_id"])
    code, line = await _verify(env)
    assert code == 1
    assert line.startswith(f"audit log BROKEN at {where} seq 3 (row_id {forged}, event ")
    assert line.endswith(": inserted: a second row with seq 3")
    await conn.execute("DELETE FROM audit_v2 WHERE row_id = $1", forged)
    assert (await _verify(env))[0] == 0
