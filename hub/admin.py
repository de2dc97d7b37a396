"""Kafka administration: wait for the broker, create topics, list topics with offsets."""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from hub.errors import HubError

__all__ = ["BrokerUnavailable", "TopicInfo", "ensure_topics", "list_topics", "wait_for_broker",
           "watermarks"]


class BrokerUnavailable(HubError):
    """No broker answered at the configured bootstrap address."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    end_offsets: tuple[int, ...]

    @property
    def messages(self) -> int:
        return sum(self.end_offsets)


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Return once the broker answers a metadata request; BrokerUnavailable after `timeout`."""
    admin = _admin(bootstrap)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            md = admin.list_topics(timeout=min(5.0, max(0.5, deadline - time.monotonic())))
            if md.brokers:
                return
        except KafkaException as exc:
            last = exc
        time.sleep(0.2)
    raise BrokerUnavailable(
        f"HUB_KAFKA_BOOTSTRAP={bootstrap}: no broker answered in {timeout:.0f} s; "
        f"is Kafka running? (`hub dev up` starts one){f' ({last})' if last else ''}"
    )


def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int,
    replication_factor: int = 1,
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    admin = _admin(bootstrap)
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [n for n in dict.fromkeys(names) if n not in existing]
    if not wanted:
        return []
    new = [NewTopic(n, num_partitions=partitions, replication_factor=replication_factor,
                    config=dict(config or {})) for n in wanted]
    created: list[str] = []
    for name, future in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise HubError(f"cannot create topic {name}: {exc.args[0].str()}") from None
    _wait_until_visible(admin, created, timeout)
    return created


def _wait_until_visible(admin: AdminClient, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while names and time.monotonic() < deadline:
        md = admin.list_topics(timeout=timeout)
        # Visible is not enough: a partition without a leader still refuses reads and writes.
        if all(n in md.topics and not md.topics[n].error
               and all(p.leader >= 0 and not p.error for p in md.topics[n].partitions.values())
               for n in names):
            return
        time.sleep(0.1)


def list_topics(bootstrap: str, *, include_internal: bool = False, timeout: float = 10.0) -> list[TopicInfo]:
    """Every topic with its partition count and end offsets, sorted by name."""
    admin = _admin(bootstrap)
    md = admin.list_topics(timeout=timeout)
    consumer = Consumer(_probe_conf(bootstrap))
    try:
        infos = []
        for name in sorted(md.topics):
            if name.startswith("__") and not include_internal:
                continue
            parts = sorted(md.topics[name].partitions)
            ends = []
            for p in parts:
                _low, high = watermarks(consumer, TopicPartition(name, p), timeout=timeout)
                ends.append(high)
            infos.append(TopicInfo(name, len(parts), tuple(ends)))
        return infos
    finally:
        consumer.close()


# Answers while a partition's leader is being elected: ask again.
_ELECTING = frozenset({
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
})


def watermarks(consumer: Consumer, tp: TopicPartition, timeout: float = 10.0) -> tuple[int, int]:
    """(low, high) offsets of a partition. A partition whose leader is still being elected
    (a topic created a moment ago, a broker restarting) is asked again until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=max(0.5, deadline - time.monotonic()))
            return int(low), int(high)
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() not in _ELECTING and not error.retriable() \
                    or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _probe_conf(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "group.id": "hub-probe", "enable.auto.commit": False}
