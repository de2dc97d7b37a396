"""The ingress's micro-batcher: each caller gets its own answer, batches form under load."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hub.ingress.batching import Batcher

pytestmark = pytest.mark.unit


class Recorder:
    """A batch runner that doubles numbers, fails on 13, and remembers every batch it saw."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = gate

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        return [ValueError(f"bad {i}") if i == 13 else i * 2 for i in items]


async def test_concurrent_callers_share_one_batch_and_get_their_own_answers() -> None:
    run = Recorder()
    batcher: Batcher[int, int] = Batcher(run)
    answers = await asyncio.gather(*(batcher.submit(i) for i in range(5)))
    assert answers == [0, 2, 4, 6, 8]
    assert run.batches == [[0, 1, 2, 3, 4]]


async def test_an_item_answered_with_an_exception_fails_only_its_caller() -> None:
    batcher: Batcher[int, int] = Batcher(Recorder())
    answers = await asyncio.gather(batcher.submit(1), batcher.submit(13), batcher.submit(2),
                                   return_exceptions=True)
    assert answers[0] == 2 and answers[2] == 4
    assert isinstance(answers[1], ValueError) and str(answers[1]) == "bad 13"


async def test_a_batch_that_raises_fails_every_caller_of_that_batch() -> None:
    async def broken(items: Sequence[int]) -> list[int | BaseException]:
        raise ConnectionError("database gone")

    batcher: Batcher[int, int] = Batcher(broken)
    answers = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert [type(a) for a in answers] == [ConnectionError, ConnectionError]


async def test_items_arriving_while_batches_are_in_flight_go_out_together_next() -> None:
    gate = asyncio.Event()
    run = Recorder(gate)
    batcher: Batcher[int, int] = Batcher(run, max_batch=2, max_in_flight=1)
    first = asyncio.ensure_future(asyncio.gather(*(batcher.submit(i) for i in range(2))))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = asyncio.ensure_future(asyncio.gather(*(batcher.submit(i) for i in range(10, 13))))
    await asyncio.sleep(0)
    assert run.batches == [[0, 1]]  # one batch in flight at most
    gate.set()
    assert await first == [0, 2]
    assert await later == [20, 22, 24]
    assert run.batches == [[0, 1], [10, 11], [12]]  # at most max_batch items a batch


async def test_a_caller_that_stops_waiting_does_not_stop_its_item() -> None:
    gate = asyncio.Event()
    run = Recorder(gate)
    batcher: Batcher[int, int] = Batcher(run)
    waiting = asyncio.ensure_future(batcher.submit(7))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    waiting.cancel()
    gate.set()
    await batcher.drain()
    assert run.batches == [[7]]
    assert waiting.cancelled()


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(Recorder(), max_batch=0)
