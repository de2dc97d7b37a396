"""The reconciliation projection against the real broker and database: a generated
history with duplicates and out-of-order arrivals ⇒ the expected statuses; a rebuild
while the incremental projection runs equals it row for row; `hub reconcile`."""
from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.db import create_pool
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections import reconciliation_report as report
from projections import registry
from projections.rebuild import rebuild
from projections.reconciliation import ReconciliationProjection
from projections.reconciliation_sql import TABLES
from projections.runtime import ProjectionRunner
from projections.synthetic import HistoryGen
from tests.history import hub_env, make_topics, produce, run_hub, snapshot, wait_caught_up

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
VIEWS = ["reconciliation", *(f"reconciliation_{t}" for t in TABLES)]


@pytest.fixture
async def deps(servers, db_schema) -> AsyncIterator[tuple[object, HubProducer]]:
    pool = await create_pool(servers.database_url, db_schema, min_size=2, max_size=6)
    producer = HubProducer(producer_config(servers.kafka_bootstrap))
    try:
        yield pool, producer
    finally:
        await asyncio.to_thread(producer.close, 5)
        await pool.close()


async def test_history_statuses_and_rebuild_while_running(servers, topic_prefix, db_schema,
                                                          deps, tmp_path: Path) -> None:
    pool, producer = deps
    topics = Topics(topic_prefix)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, topics)
    gen = HistoryGen(seed=7, now=NOW, run="r")
    chunks = list(gen.chunks(2400, per_chunk=400))
    produced = await asyncio.to_thread(produce, servers.kafka_bootstrap, topics,
                                       [e for c in chunks[:4] for e in c])
    projection = ReconciliationProjection()
    runner = ProjectionRunner(projection, pool, producer, SchemaStore.load(), topics,
                              servers.kafka_bootstrap, batch_size=300, watch_interval_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        produced += await asyncio.to_thread(produce, servers.kafka_bootstrap, topics,
                                            [e for c in chunks[4:] for e in c])
        assert produced > 9000
        assert await wait_caught_up(pool, projection, servers.kafka_bootstrap, topics) == 1
        async with pool.acquire() as conn:
            lines = await report.read(conn, NOW)
            before = await snapshot(conn, VIEWS)
        assert {line.facts.subject: line.status for line in lines} == gen.expected
        assert {s for s in gen.expected.values()} >= {
            "matched", "unpaid", "stale", "partially_paid", "overpaid", "duplicate_payment",
            "paid_not_posted", "posted_not_paid", "amount_mismatch", "currency_mismatch",
            "refunded", "orphan_payment"}

        # Rebuild while the incremental projection runs and new events keep arriving.
        more = HistoryGen(seed=8, now=NOW, run="m")
        late = [e for c in more.chunks(200) for e in c]
        out = io.StringIO()
        rebuilt, _ = await asyncio.gather(
            rebuild(projection, pool=pool, producer=producer, schemas=SchemaStore.load(),
                    topics=topics, bootstrap=servers.kafka_bootstrap, batch_size=500,
                    progress=out),
            asyncio.to_thread(produce, servers.kafka_bootstrap, topics, late))
        assert (rebuilt.version, rebuilt.replaced) == (2, 1)
        assert rebuilt.events >= produced
        assert "rebuild reconciliation v2 [" in out.getvalue()
        assert "ev/s" in out.getvalue()
        assert await wait_caught_up(pool, projection, servers.kafka_bootstrap, topics) == 2
        async with pool.acquire() as conn:
            after_swap = await snapshot(conn, VIEWS)
            states = [(v.version, v.state) for v in await registry.versions(conn, "reconciliation")]
            leftover = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename LIKE 'reconciliation_v1%'")
        assert states == [(1, "retired"), (2, "active")]
        assert leftover == 0
        assert len(after_swap["reconciliation"]) == len(before["reconciliation"]) + len(
            more.expected)
    finally:
        stop.set()
        await task

    # A fresh rebuild of the same log equals what the incremental projection kept.
    again = await rebuild(projection, pool=pool, producer=producer, schemas=SchemaStore.load(),
                          topics=topics, bootstrap=servers.kafka_bootstrap)
    assert (again.version, again.replaced) == (3, 2)
    async with pool.acquire() as conn:
        assert await snapshot(conn, VIEWS) == after_swap
        lines = await report.read(conn, NOW)
    assert {line.facts.subject: line.status for line in lines} == {**gen.expected,
                                                                    **more.expected}

    # The CLI report and its exit status.
    env = hub_env(servers, topic_prefix, db_schema, tmp_path)
    as_of = ["--as-of", NOW.isoformat()]
    ok = await asyncio.to_thread(run_hub, ["reconcile", "--format", "json", *as_of], env)
    assert ok.returncode == 0, ok.stderr
    items = json.loads(ok.stdout)
    assert {i["subject"]: i["status"] for i in items} == {**gen.expected, **more.expected}
    drifting = sum(1 for i in items if i["status"] != "matched")
    alert = await asyncio.to_thread(run_hub, ["reconcile", "--format", "csv", "--max-drift",
                                              str(drifting - 1), *as_of], env)
    assert alert.returncode == 1
    assert f"{drifting} items drift, more than --max-drift {drifting - 1}" in alert.stderr
    calm = await asyncio.to_thread(run_hub, ["reconcile", "--max-drift", str(drifting), *as_of],
                                   env)
    assert calm.returncode == 0
    assert calm.stdout.splitlines()[-1].startswith(f"{len(items)} items, {drifting} drifting")
    orphans = await asyncio.to_thread(run_hub, ["reconcile", "--status", "orphan_payment",
                                                "--format", "csv", *as_of], env)
    rows = orphans.stdout.splitlines()
    assert rows[0].startswith("subject,status,invoice_id,")
    assert len(rows) - 1 == sum(1 for s in gen.expected.values() if s == "orphan_payment") + sum(
        1 for s in more.expected.values() if s == "orphan_payment")
    assert all(",orphan_payment,," in r for r in rows[1:])
