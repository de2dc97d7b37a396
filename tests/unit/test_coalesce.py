"""The worker's batching: concurrent callers share one flush, results and errors per item,
and broker acknowledgements handed to the event loop in bursts."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from confluent_kafka import KafkaError

from consumers.acks import BatchedAcks
from consumers.coalesce import Coalescer
from hub.producer import ProduceError

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self, pause: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.pause = pause

    async def flush(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        if self.pause is not None:
            await self.pause.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_callers_of_one_iteration_share_one_flush_with_their_own_results() -> None:
    r = Recorder()
    c: Coalescer[int, int] = Coalescer(r.flush)
    results = await asyncio.gather(*(c.submit(i) for i in range(4)), return_exceptions=True)
    assert r.batches == [[0, 1, 2, 3]]
    assert results[0] == 0 and results[2] == 20
    assert [str(e) for e in results[1::2]] == ["odd 1", "odd 3"]


async def test_items_arriving_during_a_flush_form_the_next_batch() -> None:
    gate = asyncio.Event()
    r = Recorder(gate)
    c: Coalescer[int, int] = Coalescer(r.flush)
    first = asyncio.ensure_future(c.submit(0))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(c.submit(i)) for i in (2, 4, 6)]
    await asyncio.sleep(0.01)
    assert r.batches == [[0]]  # one flush at a time; the others wait for it
    gate.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [20, 40, 60]
    assert r.batches == [[0], [2, 4, 6]]


async def test_max_batch_splits_and_parallel_flushes_overlap() -> None:
    gate = asyncio.Event()
    r = Recorder(gate)
    c: Coalescer[int, int] = Coalescer(r.flush, max_batch=2, parallel=2)
    calls = [asyncio.ensure_future(c.submit(i)) for i in (0, 2, 4, 6, 8)]
    await asyncio.sleep(0.01)
    assert r.batches == [[0, 2], [4, 6]]
    gate.set()
    assert await asyncio.gather(*calls) == [0, 20, 40, 60, 80]
    assert r.batches == [[0, 2], [4, 6], [8]]
    await c.aclose()


async def test_a_failing_flush_fails_every_caller_of_its_batch_only() -> None:
    async def flush(items: list[int]) -> list[int]:
        if 1 in items:
            raise RuntimeError("database down")
        return items

    c: Coalescer[int, int] = Coalescer(flush)
    results = await asyncio.gather(c.submit(1), c.submit(2), return_exceptions=True)
    assert [str(e) for e in results] == ["database down", "database down"]
    assert await c.submit(3) == 3


async def test_a_cancelled_caller_is_left_out_of_the_flush() -> None:
    r = Recorder()
    c: Coalescer[int, int] = Coalescer(r.flush)
    gone = asyncio.ensure_future(c.submit(4))
    kept = asyncio.ensure_future(c.submit(6))
    await asyncio.sleep(0)  # both queued, flush not started
    gone.cancel()
    assert await kept == 60
    assert r.batches == [[6]]


class FakeProducer:
    """Delivery reports come from another thread, as librdkafka's poll thread does."""

    def __init__(self) -> None:
        self.reports: list[Any] = []

    def produce_nowait(self, topic: str, value: bytes, *, key: bytes | None = None,
                       headers: Any = None, on_delivery: Any = None) -> None:
        self.reports.append(on_delivery)

    def deliver(self, errors: dict[int, KafkaError]) -> None:
        def run() -> None:
            for n, report in enumerate(self.reports):
                report(errors.get(n), None)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()


async def test_acks_resolve_together_and_failures_name_the_topic() -> None:
    producer = FakeProducer()
    acks = BatchedAcks(producer)  # type: ignore[arg-type]
    futures = [acks.produce("hub.outcomes", b"v", key=b"k") for _ in range(3)]
    producer.deliver({1: KafkaError(KafkaError._MSG_TIMED_OUT)})
    await asyncio.sleep(0.01)
    assert futures[0].result() is None and futures[2].result() is None
    error = futures[1].exception()
    assert isinstance(error, ProduceError) and error.retriable
    assert str(error).startswith("hub.outcomes: broker did not acknowledge the record: ")
