"""Where a replay starts and ends: partitions, watermarks and offsets by time (blocking)."""
from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from hub.consumer_client import TP
from hub.errors import HubError

__all__ = ["ReplayPlan", "Watermarks", "replay_plan", "watermarks"]


@dataclass(frozen=True)
class Watermarks:
    """Low (oldest kept) and high (next to be written) offset of each partition."""

    low: Mapping[TP, int]
    high: Mapping[TP, int]


@dataclass(frozen=True)
class ReplayPlan:
    """Read each partition from `start` until at least `end` (the high watermark seen
    when the plan was made)."""

    start: Mapping[TP, int]
    end: Mapping[TP, int]

    @property
    def total(self) -> int:
        return sum(max(0, self.end[tp] - self.start[tp]) for tp in self.end)


def _probe(bootstrap: str) -> Any:
    return Consumer({"bootstrap.servers": bootstrap, "enable.auto.commit": False,
                     "group.id": f"hub-offsets-{uuid.uuid4().hex[:8]}"})


def _partitions(consumer: Any, topics: Sequence[str], timeout: float) -> list[TP]:
    out: list[TP] = []
    for topic in topics:
        md = consumer.list_topics(topic, timeout=timeout)
        info = md.topics.get(topic)
        if info is None or info.error is not None or not info.partitions:
            raise HubError(f"topic {topic} does not exist; create it with `hub topics create`")
        out += [(topic, p) for p in sorted(info.partitions)]
    return out


def watermarks(bootstrap: str, topics: Sequence[str], timeout: float = 10.0) -> Watermarks:
    """Watermarks of every partition of `topics`; HubError naming a missing topic."""
    consumer = _probe(bootstrap)
    try:
        low: dict[TP, int] = {}
        high: dict[TP, int] = {}
        for tp in _partitions(consumer, topics, timeout):
            got = consumer.get_watermark_offsets(TopicPartition(*tp), timeout=timeout)
            if got is None:
                raise HubError(f"{tp[0]}[{tp[1]}]: no watermarks from the broker in {timeout:.0f} s")
            low[tp], high[tp] = int(got[0]), int(got[1])
        return Watermarks(low, high)
    except KafkaException as exc:
        raise HubError(f"cannot read offsets of {', '.join(topics)}: {exc}") from None
    finally:
        consumer.close()


def replay_plan(bootstrap: str, topics: Sequence[str], from_time: datetime | None = None,
                timeout: float = 10.0) -> ReplayPlan:
    """From the oldest record (or the first whose Kafka timestamp is at or after
    `from_time`) to the high watermark of now, for every partition of `topics`."""
    marks = watermarks(bootstrap, topics, timeout)
    if from_time is None:
        return ReplayPlan(dict(marks.low), dict(marks.high))
    millis = int(from_time.timestamp() * 1000)
    consumer = _probe(bootstrap)
    try:
        found = consumer.offsets_for_times(
            [TopicPartition(t, p, millis) for t, p in marks.high], timeout=timeout)
    except KafkaException as exc:
        raise HubError(f"cannot look up offsets at {from_time.isoformat()}: {exc}") from None
    finally:
        consumer.close()
    start: dict[TP, int] = {}
    for tp in found:
        key = (tp.topic, tp.partition)
        if tp.error is not None:
            raise HubError(f"{key[0]}[{key[1]}]: offsets_for_times failed: {tp.error}")
        # -1: no record at or after the time, so nothing to replay in this partition.
        start[key] = marks.high[key] if tp.offset < 0 else max(int(tp.offset), marks.low[key])
    return ReplayPlan(start, dict(marks.high))
