"""`hub project` killed mid-run and restarted ends equal to a fresh rebuild; `hub
projections rebuild` and `hub projections status` as a user runs them."""
from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.db import create_pool
from hub.topics import Topics
from projections import registry
from projections.reconciliation import ReconciliationProjection
from projections.reconciliation_sql import TABLES
from projections.synthetic import HistoryGen
from tests.history import (
    hub_env,
    make_topics,
    produce,
    run_hub,
    snapshot,
    start_hub,
    wait_caught_up,
)

pytestmark = pytest.mark.integration

VIEWS = ["reconciliation", *(f"reconciliation_{t}" for t in TABLES)]


async def _applied(pool, version: int = 1) -> int:
    async with pool.acquire() as conn:
        offsets = await registry.load_offsets(conn, "reconciliation", version)
    return sum(offsets.values())


async def test_killed_projection_restarts_exact(servers, topic_prefix, db_schema,
                                                tmp_path: Path) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, topics,
                            [topics.dlq("projection.reconciliation")])
    gen = HistoryGen(seed=11, now=datetime.now(UTC), run="k")
    events = [e for c in gen.chunks(4000) for e in c]
    total = await asyncio.to_thread(produce, servers.kafka_bootstrap, topics, events)
    env = hub_env(servers, topic_prefix, db_schema, tmp_path)
    pool = await create_pool(servers.database_url, db_schema, min_size=1, max_size=3)
    projection = ReconciliationProjection()
    procs = []
    try:
        first = start_hub(["project", "reconciliation", "--batch-size", "100"], env,
                          tmp_path / "project-1.log")
        procs.append(first)
        deadline = time.monotonic() + 60
        while await _applied(pool) < 1000:
            assert first.poll() is None, (tmp_path / "project-1.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "project-1.log").read_text()
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = await _applied(pool)
        assert 1000 <= at_kill < total

        second = start_hub(["project", "reconciliation"], env, tmp_path / "project-2.log")
        procs.append(second)
        try:
            await wait_caught_up(pool, projection, servers.kafka_bootstrap, topics, within=90)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0, (tmp_path / "project-2.log").read_text()
        async with pool.acquire() as conn:
            kept = await snapshot(conn, VIEWS)

        built = await asyncio.to_thread(run_hub, ["projections", "rebuild", "reconciliation"], env,
                                        120)
        assert built.returncode == 0, built.stderr
        assert built.stdout.startswith(f"reconciliation v2 is active: {total:,} events in ")
        assert built.stdout.rstrip().endswith("replaced v1")
        assert "rebuild reconciliation v2 [########################] 100.0%" in built.stderr
        async with pool.acquire() as conn:
            assert await snapshot(conn, VIEWS) == kept
        assert len(kept["reconciliation"]) == len(gen.expected)

        status = await asyncio.to_thread(run_hub, ["projections", "status", "--json"], env)
        assert status.returncode == 0, status.stderr
        found = {s["projection"]: s for s in json.loads(status.stdout)}
        assert (found["reconciliation"]["version"], found["reconciliation"]["state"],
                found["reconciliation"]["lag"], found["reconciliation"]["position"]) == (
            2, "active", 0, total)
        assert (found["audit"]["state"], found["audit"]["version"]) == ("not started", None)
        table = await asyncio.to_thread(run_hub, ["projections", "status"], env)
        assert table.stdout.splitlines()[0].split() == [
            "PROJECTION", "VERSION", "STATE", "POSITION", "END", "LAG", "UPDATED"]
        assert table.stdout.splitlines()[1].split()[:6] == [
            "reconciliation", "2", "active", f"{total:,}", f"{total:,}", "0"]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await pool.close()


async def test_rebuild_from_time_and_interrupted(servers, topic_prefix, db_schema) -> None:
    from hub.producer import HubProducer, producer_config
    from hub.schemastore import SchemaStore
    from projections.rebuild import RebuildInterrupted, rebuild

    topics = Topics(topic_prefix)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, topics)
    gen = HistoryGen(seed=1, now=datetime.now(UTC), run="t")
    early = [e for _ in range(40) for e in gen.scenario("unpaid")]
    await asyncio.to_thread(produce, servers.kafka_bootstrap, topics, early)
    await asyncio.sleep(1.1)
    cut = datetime.now(UTC)
    await asyncio.sleep(0.1)
    late = [e for _ in range(30) for e in gen.scenario("partial")]
    await asyncio.to_thread(produce, servers.kafka_bootstrap, topics, late)
    pool = await create_pool(servers.database_url, db_schema, min_size=2, max_size=4)
    producer = HubProducer(producer_config(servers.kafka_bootstrap))
    projection = ReconciliationProjection()
    common = dict(pool=pool, producer=producer, schemas=SchemaStore.load(), topics=topics,
                  bootstrap=servers.kafka_bootstrap)
    try:
        full = await rebuild(projection, **common)
        part = await rebuild(projection, from_time=cut, **common)
        assert (full.version, full.planned, part.version, part.planned) == (
            1, len(early) + len(late), 2, len(late))
        async with pool.acquire() as conn:
            subjects = {r["subject"] for r in await conn.fetch("SELECT subject FROM reconciliation")}
            assert subjects == {e.subject for e in late}
            assert {r["from_time"] for r in await conn.fetch(
                "SELECT from_time FROM projection_versions WHERE version = 2")} == {cut}

        stop = asyncio.Event()
        stop.set()
        total = len(early) + len(late)
        with pytest.raises(RebuildInterrupted, match=f"rebuild of reconciliation v3 stopped at 0 "
                           f"of {total} events; the half-built version was dropped"):
            await rebuild(projection, stop=stop, **common)
        async with pool.acquire() as conn:
            states = [(v.version, v.state) for v in await registry.versions(conn)]
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename LIKE 'reconciliation_v3%'")
        assert states == [(1, "retired"), (2, "active"), (3, "retired")]
        assert tables == 0
    finally:
        await asyncio.to_thread(producer.close, 5)
        await pool.close()
