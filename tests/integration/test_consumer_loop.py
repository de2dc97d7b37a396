"""The one consumer loop against the real broker: key order, offsets, dead letters, due
times, rebalances, batch mode with start offsets."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from confluent_kafka import OFFSET_INVALID, TopicPartition

from hub.admin import ensure_topics
from hub.consumer import ConsumerLoop, LoopSettings, Received
from hub.producer import HubProducer, producer_config
from hub.redelivery import DUE_HEADER
from hub.schemastore import SchemaStore
from tests.provider_sync import committed, intent, produce, read_raw, wait_until

pytestmark = pytest.mark.integration

FAST = {"commit_interval_ms": 200, "session_timeout_ms": 6000, "poll_timeout_s": 0.05}


@asynccontextmanager
async def loop_running(servers: Any, settings: LoopSettings, **handlers: Any
                       ) -> AsyncIterator[ConsumerLoop]:
    producer = HubProducer(producer_config(servers.kafka_bootstrap))
    loop = ConsumerLoop(settings, bootstrap=servers.kafka_bootstrap, schemas=SchemaStore.load(),
                        producer=producer, **handlers)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        yield loop
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await asyncio.to_thread(producer.close, 5.0)


def topics_for(servers: Any, prefix: str) -> tuple[str, str]:
    topic, dlq = f"{prefix}hub.payments", f"{prefix}hub.dlq.test"
    ensure_topics(servers.kafka_bootstrap, [topic, dlq], partitions=3)
    return topic, dlq


def ends(servers: Any, topic: str) -> list[int]:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": servers.kafka_bootstrap, "group.id": "ends"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(3)]
    finally:
        c.close()


async def test_same_key_runs_in_order_other_keys_concurrently(servers, topic_prefix) -> None:
    topic, dlq = topics_for(servers, topic_prefix)
    events = [intent(f"inv-{k}-{n}", subject=f"key-{k}") for n in range(10) for k in range(8)]
    await produce(servers.kafka_bootstrap, topic, events)
    seen: dict[str, list[str]] = defaultdict(list)
    active: Counter[str] = Counter()
    peak = 0

    async def handle(msg: Received) -> None:
        nonlocal peak
        key = msg.event.subject or ""
        assert active[key] == 0, f"two records of {key} at once"
        active[key] += 1
        peak = max(peak, sum(active.values()))
        await asyncio.sleep(random.uniform(0, 0.02))
        seen[key].append(msg.event.data["invoice_id"])
        active[key] -= 1

    settings = LoopSettings(group_id=f"{topic_prefix}g", topics=(topic,), dlq_topic=dlq,
                            concurrency=4, **FAST)
    async with loop_running(servers, settings, handler=handle):
        await wait_until(lambda: _true(sum(map(len, seen.values())) == 80), what="80 records")
    assert {k: v for k, v in seen.items()} == {
        f"key-{k}": [f"inv-{k}-{n}" for n in range(10)] for k in range(8)}
    assert peak > 1
    assert committed(servers.kafka_bootstrap, f"{topic_prefix}g", topic) == ends(servers, topic)


async def test_undecodable_record_is_dead_lettered_and_the_partition_moves_on(
        servers, topic_prefix) -> None:
    topic, dlq = topics_for(servers, topic_prefix)
    before, after = intent("inv-1", subject="k"), intent("inv-2", subject="k")
    await produce(servers.kafka_bootstrap, topic, [before])
    await produce(servers.kafka_bootstrap, topic, [], raw=[(b"k", b"not avro at all")])
    await produce(servers.kafka_bootstrap, topic, [after])
    handled: list[str] = []

    async def handle(msg: Received) -> None:
        handled.append(msg.event.data["invoice_id"])

    settings = LoopSettings(group_id=f"{topic_prefix}g", topics=(topic,), dlq_topic=dlq, **FAST)
    async with loop_running(servers, settings, handler=handle):
        await wait_until(lambda: _true(len(handled) == 2), what="both good records")
    assert handled == ["inv-1", "inv-2"]
    [dead] = read_raw(servers.kafka_bootstrap, dlq, expect=1)
    headers = dict(dead.headers())
    assert dead.value() == b"not avro at all" and dead.key() == b"k"
    assert headers["hub_error_class"] == b"DecodeError"
    assert headers["hub_original_topic"] == topic.encode()
    assert headers["hub_original_offset"] == b"1"
    assert b"c301" in headers["hub_error_message"]
    # The one partition holding the three records is committed past all of them.
    assert sorted(committed(servers.kafka_bootstrap, f"{topic_prefix}g", topic)) == [
        OFFSET_INVALID, OFFSET_INVALID, 3]


async def test_a_record_is_held_until_it_is_due_and_order_is_kept(servers, topic_prefix) -> None:
    topic, dlq = topics_for(servers, topic_prefix)
    due_ms = int((time.time() + 1.5) * 1000)
    first, second = intent("inv-due", subject="k"), intent("inv-next", subject="k")
    store = SchemaStore.load()
    from hub import codec

    producer = HubProducer(producer_config(servers.kafka_bootstrap))
    await producer.produce(topic, codec.encode(store, first), key=b"k",
                           headers=[(DUE_HEADER, str(due_ms).encode())])
    await producer.produce(topic, codec.encode(store, second), key=b"k")
    await asyncio.to_thread(producer.close, 5.0)
    handled: list[tuple[str, float]] = []

    async def handle(msg: Received) -> None:
        handled.append((msg.event.data["invoice_id"], time.time()))

    settings = LoopSettings(group_id=f"{topic_prefix}g", topics=(topic,), dlq_topic=dlq, **FAST)
    async with loop_running(servers, settings, handler=handle):
        await wait_until(lambda: _true(len(handled) == 2), what="both records")
    assert [name for name, _ in handled] == ["inv-due", "inv-next"]
    assert handled[0][1] >= due_ms / 1000


async def test_rebalance_commits_finished_work_so_nothing_is_handled_twice(
        servers, topic_prefix) -> None:
    topic, dlq = topics_for(servers, topic_prefix)
    events = [intent(f"inv-{n}", subject=f"k{n % 12}") for n in range(150)]
    await produce(servers.kafka_bootstrap, topic, events)
    handled: Counter[str] = Counter()
    by_loop: Counter[str] = Counter()

    def handler(name: str) -> Any:
        async def handle(msg: Received) -> None:
            await asyncio.sleep(0.05)
            handled[msg.event.id] += 1
            by_loop[name] += 1
        return handle

    settings = LoopSettings(group_id=f"{topic_prefix}g", topics=(topic,), dlq_topic=dlq,
                            concurrency=1, **FAST)
    async with loop_running(servers, settings, handler=handler("a")):
        await wait_until(lambda: _true(sum(handled.values()) >= 10), what="a started")
        async with loop_running(servers, settings, handler=handler("b")):
            await wait_until(lambda: _true(len(handled) == 150), within=30, what="all handled")
    assert set(handled.values()) == {1}
    assert by_loop["a"] > 0 and by_loop["b"] > 0


async def test_batch_mode_starts_from_the_offsets_the_projection_keeps(
        servers, topic_prefix) -> None:
    topic, dlq = topics_for(servers, topic_prefix)
    events = [intent(f"inv-{n}", subject="same-key") for n in range(6)]
    await produce(servers.kafka_bootstrap, topic, events)
    batches: list[list[str]] = []
    asked: list[list[tuple[str, int]]] = []

    async def start_offsets(tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        asked.append(sorted(tps))
        return {tp: 4 for tp in tps}

    async def handle(batch: list[Received]) -> None:
        batches.append([m.event.data["invoice_id"] for m in batch])

    settings = LoopSettings(group_id=f"{topic_prefix}g", topics=(topic,), dlq_topic=dlq, **FAST)
    async with loop_running(servers, settings, batch_handler=handle, start_offsets=start_offsets):
        await wait_until(lambda: _true(sum(map(len, batches)) == 2), what="the last two records")
        await asyncio.sleep(0.3)
    assert asked == [[(topic, 0), (topic, 1), (topic, 2)]]
    assert [x for b in batches for x in b] == ["inv-4", "inv-5"]


async def _true(value: bool) -> bool:
    return value
