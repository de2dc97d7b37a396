"""Test helpers for the consumer loop and provider workers: events, config, waiting, reading."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from confluent_kafka import Consumer, TopicPartition

from consumers.runner import run_workers
from consumers.worker import Worker
from hub import codec
from hub.bootstrap import Runtime
from hub.db import connect
from hub.envelope import Event, canonical_json, sha256_hex, utcnow
from hub.ids import uuid7
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from tests.stack import make_runtime

STRIPE_KEY = "sk_test_simulator"
# Short loop timings so tests do not wait on librdkafka defaults.
FAST = {"commit_interval_ms": 200, "session_timeout_ms": 6000, "poll_timeout_s": 0.05}


def intent(invoice_id: str, *, amount: int = 1250, currency: str = "USD",
           subject: str | None = None, event_id: str | None = None) -> Event:
    data = {"invoice_id": invoice_id, "amount_minor": amount, "currency": currency,
            "customer_id": "cus_1", "customer_email": None, "description": None}
    return Event(id=event_id or uuid7(), source="/tests", type="payment.intent_requested",
                 time=utcnow(), schema_version=1, correlation_id=uuid7(),
                 payload_sha256=sha256_hex(canonical_json(data)), data=data,
                 subject=subject or invoice_id)


async def produce(bootstrap: str, topic: str, events: Iterable[Event], *, times: int = 1,
                  raw: Iterable[tuple[bytes | None, bytes]] = ()) -> None:
    """Produce each event `times` times (acks=all), then any raw (key, value) records."""
    store = SchemaStore.load()
    producer = HubProducer(producer_config(bootstrap, **{"client.id": "test"}))
    try:
        futures = []
        for event in events:
            value = codec.encode(store, event)
            for _ in range(times):
                futures.append(producer.produce(topic, value, key=event.key,
                                                headers=event.headers()))
        for key, value in raw:
            futures.append(producer.produce(topic, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await asyncio.to_thread(producer.close, 10.0)


def payments_config(url: str, *, concurrency: int = 16, rate: int = 1000, burst: int = 200,
                    attempts: int = 3, topics: tuple[str, ...] = ("1s", "2s"),
                    breaker: str = "", timeout_s: float = 5.0) -> str:
    listed = ", ".join(f'"{t}"' for t in topics)
    return "\n".join([
        "[kafka]", "partitions = 3", "session_timeout_ms = 6000", "commit_interval_ms = 200", "",
        "[integrations.payments]", 'kind = "payments"', f'base_url = "{url}"',
        f'credentials = {{ api_key = "{STRIPE_KEY}" }}', f"concurrency = {concurrency}",
        f"rate_per_s = {rate}", f"burst = {burst}", f"timeout_s = {timeout_s}",
        f"retry = {{ attempts = {attempts}, base = 0.05, cap = 2.0, topics = [{listed}] }}",
        breaker, "",
        "[routes]", '"payment.intent_requested" = ["payments"]',
        '"payment.refund_requested" = ["payments"]', "",
    ])


def runtime(tmp: Path, servers: Any, prefix: str, schema: str, text: str) -> Runtime:
    return make_runtime(tmp, servers, prefix, schema, text)


@asynccontextmanager
async def running(rt: Runtime, names: tuple[str, ...] = ("payments",),
                  **overrides: Any) -> AsyncIterator[list[Worker]]:
    """Workers running in this process until the block ends (then stopped cleanly)."""
    stop = asyncio.Event()
    workers: list[Worker] = []
    task = asyncio.create_task(run_workers(rt, list(names), stop, started=workers.extend,
                                           **{**FAST, **overrides}))
    try:
        await wait_until(lambda: _ready(task, workers), what="workers to start")
        yield workers
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def _ready(task: asyncio.Task[None], workers: list[Worker]) -> bool:
    if task.done():
        task.result()  # raise what stopped it
    return bool(workers)


async def wait_until(check: Callable[[], Awaitable[bool]], within: float = 20.0,
                     what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within} s waiting for {what}")


async def sql(servers: Any, schema: str, query: str, *args: Any) -> list[Any]:
    conn = await connect(servers.database_url, schema)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def done_count(servers: Any, schema: str, status: str = "done") -> int:
    rows = await sql(servers, schema,
                     "SELECT count(*) AS n FROM processed_events WHERE status = $1", status)
    return int(rows[0]["n"])


async def sim(url: str, path: str, body: Any = None) -> Any:
    async with aiohttp.ClientSession() as s:
        if body is None:
            async with s.get(url + path) as r:
                return await r.json()
        async with s.post(url + path, json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()


def read_raw(bootstrap: str, topic: str, expect: int, timeout: float = 15.0) -> list[Any]:
    """The first `expect` records of `topic` (undecoded confluent Messages), by partition/offset."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{time.time_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        md = consumer.list_topics(topic, timeout=10)
        consumer.assign([TopicPartition(topic, p, 0) for p in md.topics[topic].partitions])
        out: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            out += [m for m in consumer.consume(100, 0.2) if m.error() is None]
        return sorted(out, key=lambda m: (m.partition(), m.offset()))
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int = 3) -> list[int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        parts = consumer.committed([TopicPartition(topic, p) for p in range(partitions)],
                                   timeout=10)
        return [p.offset for p in parts]
    finally:
        consumer.close()
