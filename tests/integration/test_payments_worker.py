"""The payments worker against the real broker, database and the payments simulator: each
effect once, retries that honour Retry-After, visible dead letters, order per key."""
from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from hub.admin import ensure_topics
from hub.bootstrap import Runtime
from hub.simulators import SimulatorConfig, run_simulators
from tests.provider_sync import (
    done_count,
    intent,
    payments_config,
    produce,
    read_raw,
    running,
    runtime,
    sim,
    sql,
    wait_until,
)
from tests.stack import read_topic

pytestmark = pytest.mark.integration


@asynccontextmanager
async def stack(tmp: Path, servers: Any, prefix: str, schema: str, **config: Any
                ) -> AsyncIterator[tuple[Runtime, str]]:
    async with run_simulators(SimulatorConfig(), only="payments") as sims:
        assert sims.payments is not None
        rt = runtime(tmp, servers, prefix, schema, payments_config(sims.payments, **config))
        await asyncio.to_thread(ensure_topics, servers.kafka_bootstrap, rt.topics.core(),
                                partitions=3)
        yield rt, sims.payments


async def calls(url: str) -> list[dict[str, Any]]:
    return [c for c in (await sim(url, "/_sim/calls"))["calls"] if c["direction"] == "in"]


async def test_every_event_delivered_twice_makes_one_effect(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with stack(tmp_path, servers, topic_prefix, db_schema) as (rt, url):
        events = [intent(f"inv-{n}", amount=1000 + n) for n in range(30)]
        # An upstream retry that minted a new event id for the same invoice: the
        # idempotency key (invoice_id:create_intent) makes the provider replay.
        again = [intent(f"inv-{n}", amount=1000 + n) for n in range(5)]
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), events, times=2)
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), again)
        async with running(rt) as [worker]:
            await wait_until(lambda: _eq(done_count(servers, db_schema), 35), what="35 done")
        effects = await sim(url, "/_sim/effects?kind=charge")
        assert effects["count"] == 30
        assert sorted(c["client_reference"] for c in effects["effects"]) == sorted(
            f"inv-{n}" for n in range(30))
        received = await calls(url)
        assert len(received) == 35
        assert sum(c["replayed"] for c in received) == 5
        assert {c["idempotency_key"] for c in received} == {
            f"inv-{n}:create_intent" for n in range(30)}
        assert worker.stats["skipped_duplicate"] == 30
        rows = await sql(servers, db_schema,
                         "SELECT invoice_id, provider_reference, status, request FROM"
                         " payment_attempts ORDER BY invoice_id")
        assert len(rows) == 35 and {r["status"] for r in rows} == {"succeeded"}
        refs = defaultdict(set)
        for r in rows:
            refs[r["invoice_id"]].add(r["provider_reference"])
        assert all(len(v) == 1 for v in refs.values())  # replays answered the same intent
        assert orjson.loads(rows[0]["request"])["metadata"] == {
            "invoice_id": rows[0]["invoice_id"], "customer_id": "cus_1"}
        outcomes = read_topic(servers.kafka_bootstrap, rt.topics.outcomes, expect=70)
        statuses = Counter(o.event.data["status"] for o in outcomes)
        assert statuses == {"attempted": 35, "succeeded": 35}


async def test_500_burst_and_429_end_in_success_and_retry_after_is_waited(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with stack(tmp_path, servers, topic_prefix, db_schema, attempts=5) as (rt, url):
        await sim(url, "/_sim/faults", {"burst_500": 2, "rate_limit": 2, "retry_after_s": 1})
        event = intent("inv-flaky")
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), [event])
        async with running(rt):
            await wait_until(lambda: _eq(done_count(servers, db_schema), 1), what="done")
        received = await calls(url)
        assert [c["status"] for c in received] == [500, 500, 429, 429, 200]
        gaps = [b["ts"] - a["ts"] for a, b in zip(received, received[1:], strict=False)]
        assert gaps[2] >= 1.0 and gaps[3] >= 1.0  # Retry-After: 1
        assert gaps[0] < 1.0 and gaps[1] < 1.0  # backoff, not Retry-After
        assert (await sim(url, "/_sim/effects"))["counts"] == {"charge": 1}
        [row] = await sql(servers, db_schema, "SELECT status, attempts FROM processed_events")
        assert (row["status"], row["attempts"]) == ("done", 5)
        outcomes = read_topic(servers.kafka_bootstrap, rt.topics.outcomes, expect=10)
        assert Counter(o.event.data["status"] for o in outcomes) == {
            "attempted": 5, "failed": 4, "succeeded": 1}
        failed = sorted((o.event.data["attempt"], o.event.data["error_class"])
                        for o in outcomes if o.event.data["status"] == "failed")
        assert failed == [(1, "TransientError"), (2, "TransientError"), (3, "RateLimited"),
                          (4, "RateLimited")]


async def test_failures_beyond_the_process_go_through_a_retry_topic(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with stack(tmp_path, servers, topic_prefix, db_schema, attempts=2) as (rt, url):
        await sim(url, "/_sim/faults", {"burst_500": 3})
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), [intent("inv-r")])
        async with running(rt) as [worker]:
            await wait_until(lambda: _eq(done_count(servers, db_schema), 1), what="done")
        received = await calls(url)
        assert [c["status"] for c in received] == [500, 500, 500, 200]
        assert received[2]["ts"] - received[1]["ts"] >= 1.0  # the "1s" retry topic's delay
        [retry] = read_raw(servers.kafka_bootstrap, rt.topics.retry("payments", "1s"), expect=1)
        headers = dict(retry.headers())
        assert (headers["hub_attempts"], headers["hub_retry_stage"]) == (b"2", b"1s")
        assert headers["hub_original_topic"] == rt.topics.name("payments").encode()
        assert headers["hub_error_class"] == b"TransientError"
        assert (worker.stats["retry_scheduled"], worker.stats["succeeded"]) == (1, 1)
        [row] = await sql(servers, db_schema,
                          "SELECT status, attempts, first_failure_at IS NOT NULL AS failed_once"
                          " FROM processed_events")
        assert (row["status"], row["attempts"], row["failed_once"]) == ("done", 4, True)


async def test_permanent_error_dead_letters_with_reason_and_the_partition_moves_on(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with stack(tmp_path, servers, topic_prefix, db_schema) as (rt, url):
        bad = intent("inv-bad", currency="XXX", subject="cust-1")
        good = intent("inv-good", subject="cust-1")  # same key: same partition, after it
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), [bad, good])
        async with running(rt) as [worker]:
            await wait_until(lambda: _eq(done_count(servers, db_schema), 1), what="good done")
            await wait_until(lambda: _eq(done_count(servers, db_schema, "dead_lettered"), 1),
                             what="bad dead-lettered")
        assert [(c["status"], c["client_reference"]) for c in await calls(url)] == [
            (400, "inv-bad"), (200, "inv-good")]
        [dead] = read_raw(servers.kafka_bootstrap, rt.topics.dlq("payments"), expect=1)
        headers = dict(dead.headers())
        assert headers["hub_error_class"] == b"PermanentError"
        assert headers["hub_error_message"] == (
            b"provider answered 400: Invalid currency: xxx. (invalid_currency)")
        assert headers["hub_attempts"] == b"1"
        assert headers["hub_original_topic"] == rt.topics.name("payments").encode()
        assert headers["ce_id"] == bad.id.encode()
        assert dead.key() == b"cust-1"
        rows = await sql(servers, db_schema,
                         "SELECT invoice_id, status, response FROM payment_attempts"
                         " ORDER BY invoice_id")
        assert [(r["invoice_id"], r["status"]) for r in rows] == [
            ("inv-bad", "dead_lettered"), ("inv-good", "succeeded")]
        assert orjson.loads(rows[0]["response"])["error"]["code"] == "invalid_currency"
        assert (worker.stats["dead_lettered"], worker.stats["succeeded"]) == (1, 1)
        outcomes = read_topic(servers.kafka_bootstrap, rt.topics.outcomes, expect=5)
        assert sorted((o.event.data["event_id"] == bad.id, o.event.data["status"])
                      for o in outcomes) == [
            (False, "attempted"), (False, "succeeded"),
            (True, "attempted"), (True, "dead_lettered"), (True, "failed")]


async def test_same_key_keeps_its_order_under_concurrency(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with stack(tmp_path, servers, topic_prefix, db_schema, concurrency=8) as (rt, url):
        await sim(url, "/_sim/faults", {"latency_ms": 15, "latency_jitter_ms": 15})
        events = [intent(f"inv-{c}-{n}", subject=f"cust-{c}") for n in range(8) for c in range(6)]
        for e in events:
            e.data["customer_id"] = e.subject
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), events)
        async with running(rt):
            await wait_until(lambda: _eq(done_count(servers, db_schema), 48), what="48 done")
        per_customer: dict[str, list[str]] = defaultdict(list)
        for call in await calls(url):
            per_customer[call["body"]["metadata"]["customer_id"]].append(call["client_reference"])
        assert dict(per_customer) == {
            f"cust-{c}": [f"inv-{c}-{n}" for n in range(8)] for c in range(6)}


async def test_an_open_circuit_pauses_instead_of_spending_retries(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    breaker = "breaker = { failure_ratio = 0.5, window_s = 30, min_calls = 3, cooldown_s = 1.5 }"
    async with stack(tmp_path, servers, topic_prefix, db_schema, attempts=8, concurrency=1,
                     breaker=breaker) as (rt, url):
        await sim(url, "/_sim/faults", {"burst_500": 3})
        events = [intent(f"inv-{n}", subject="one-key") for n in range(3)]
        await produce(servers.kafka_bootstrap, rt.topics.name("payments"), events)
        async with running(rt) as [worker]:
            await wait_until(lambda: _eq(done_count(servers, db_schema), 3), what="3 done")
        received = await calls(url)
        assert [c["status"] for c in received] == [500, 500, 500, 200, 200, 200]
        assert received[3]["ts"] - received[2]["ts"] >= 1.4  # nothing sent while open
        assert worker.stats["breaker_open"] == 1
        assert worker.stats["breaker_half_open"] == 1
        assert worker.stats["breaker_closed"] == 1


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
