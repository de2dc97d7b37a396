"""Reading bounded ranges of a topic: from a start offset (or time) to the end seen at start.

Every reader here assigns partitions explicitly (no group membership, no commits), so
it works against any cluster and never disturbs a consumer group. Reads stop at the
end offsets planned up front: new records that arrive meanwhile are not read.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, TopicPartition

from hub.errors import HubError

__all__ = ["LogRecord", "Span", "first_records", "open_reader", "partitions", "plan", "read"]


@dataclass(frozen=True, slots=True)
class LogRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> bytes | None:
        """The last value of header `name`, or None."""
        found = None
        for k, v in self.headers:
            if k == name:
                found = v
        return found

    @classmethod
    def of(cls, m: Any) -> LogRecord:
        ts_type, ts = m.timestamp()
        headers = tuple((str(k), _bytes(v) or b"") for k, v in (m.headers() or ()))
        return cls(m.topic(), m.partition(), m.offset(),
                   None if ts_type == TIMESTAMP_NOT_AVAILABLE else int(ts),
                   _bytes(m.key()), _bytes(m.value()), headers)


def _bytes(v: object) -> bytes | None:
    if v is None or isinstance(v, bytes):
        return v
    return str(v).encode()


@dataclass(frozen=True, slots=True)
class Span:
    """Offsets [start, end) of one partition."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def open_reader(bootstrap: str) -> Consumer:
    """A consumer for explicit assignments only; close it when done."""
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "hub-cli-reader",  # required by the client; never joined, never committed
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        "client.id": "hub-cli",
    })


def partitions(consumer: Consumer, topic: str, timeout: float = 10.0) -> list[int]:
    """The partition numbers of `topic`; HubError when it does not exist."""
    md = consumer.list_topics(topic, timeout=timeout)
    meta = md.topics.get(topic)
    if meta is None or meta.error is not None:
        raise HubError(f"topic {topic!r} does not exist (see `hub topics`)")
    return sorted(meta.partitions)


def plan(
    consumer: Consumer,
    topic: str,
    *,
    from_offset: int | None = None,
    from_ms: int | None = None,
    until_ms: int | None = None,
    timeout: float = 10.0,
) -> list[Span]:
    """One span per partition: from `from_offset` (clamped to what the log holds), the first
    record at or after `from_ms`, or the log start; to the end now, or the first record
    after `until_ms`."""
    spans = []
    for p in partitions(consumer, topic, timeout):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout,
                                                   cached=False)
        start, end = int(low), int(high)
        if from_offset is not None:
            start = min(max(from_offset, start), end)
        elif from_ms is not None:
            start = _offset_for_time(consumer, topic, p, from_ms, end, timeout)
        if until_ms is not None:
            end = max(start, _offset_for_time(consumer, topic, p, until_ms + 1, end, timeout))
        spans.append(Span(topic, p, start, end))
    return spans


def _offset_for_time(consumer: Consumer, topic: str, p: int, ms: int, end: int,
                     timeout: float) -> int:
    [found] = consumer.offsets_for_times([TopicPartition(topic, p, ms)], timeout=timeout)
    return end if found.offset < 0 else min(int(found.offset), end)


def read(consumer: Consumer, spans: Sequence[Span], *, stuck_after_s: float = 30.0,
         batch: int = 500) -> Iterator[LogRecord]:
    """Every record of `spans`, partitions interleaved, each partition in offset order.

    Raises HubError when a partition makes no progress for `stuck_after_s` seconds.
    """
    todo = {(s.topic, s.partition): s for s in spans if s.size > 0}
    if not todo:
        return
    consumer.assign([TopicPartition(s.topic, s.partition, s.start) for s in todo.values()])
    last_progress = time.monotonic()
    try:
        while todo:
            messages = consumer.consume(batch, 0.5)
            if not messages and time.monotonic() - last_progress > stuck_after_s:
                where = ", ".join(f"{t}[{p}]" for t, p in sorted(todo))
                raise HubError(f"no progress reading {where} for {stuck_after_s:.0f} s; "
                               "is the broker reachable?")
            for m in messages:
                topic, partition, offset = _where(m)
                tp = (topic, partition)
                span = todo.get(tp)
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF and span is not None:
                        _done(consumer, todo, tp)
                    elif err.code() != KafkaError._PARTITION_EOF:
                        raise HubError(f"reading {topic}[{partition}]: {err.str()}")
                    continue
                if span is None:
                    continue
                last_progress = time.monotonic()
                if offset < span.end:
                    yield LogRecord.of(m)
                if offset >= span.end - 1:
                    _done(consumer, todo, tp)
    finally:
        consumer.unassign()


def _where(m: Any) -> tuple[str, int, int]:
    topic, partition, offset = m.topic(), m.partition(), m.offset()
    return str(topic), int(partition or 0), int(offset if offset is not None else -1)


def _done(consumer: Consumer, todo: dict[tuple[str, int], Span], tp: tuple[str, int]) -> None:
    todo.pop(tp, None)
    try:
        consumer.pause([TopicPartition(tp[0], tp[1])])
    except KafkaException:
        pass  # already unassigned: nothing more will arrive


def first_records(consumer: Consumer, positions: Sequence[tuple[str, int, int]],
                  timeout: float = 5.0) -> dict[tuple[str, int], LogRecord]:
    """The first record at or after each (topic, partition, offset); partitions with none
    before the end (or within `timeout`) are missing from the result."""
    spans = [Span(t, p, o, o + 1) for t, p, o in positions]
    found: dict[tuple[str, int], LogRecord] = {}
    todo = {(s.topic, s.partition) for s in spans}
    if not todo:
        return found
    consumer.assign([TopicPartition(s.topic, s.partition, s.start) for s in spans])
    deadline = time.monotonic() + timeout
    try:
        while todo and time.monotonic() < deadline:
            for m in consumer.consume(len(todo) * 2 + 10, 0.2):
                topic, partition, _offset = _where(m)
                tp = (topic, partition)
                if tp not in todo:
                    continue
                todo.discard(tp)
                if m.error() is None:
                    found[tp] = LogRecord.of(m)
    finally:
        consumer.unassign()
    return found
