"""Committed offsets, log ends and oldest-unconsumed records of consumer groups, from any
cluster, through the AdminClient and Consumer APIs only (list_consumer_groups,
list_consumer_group_offsets, get_watermark_offsets, and a fetch at the committed offset)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from hub.errors import HubError
from hub.lagreport import GroupObservation, PartitionObservation
from hub.logreader import first_records, open_reader

__all__ = ["observe"]

_STATES = {
    "STABLE": "Stable", "EMPTY": "Empty", "DEAD": "Dead", "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance", "COMPLETING_REBALANCING": "CompletingRebalance",
}


def observe(bootstrap: str, groups: Sequence[str] = (), timeout: float = 10.0,
            prefix: str = "") -> list[GroupObservation]:
    """Every consumer group with committed offsets whose id starts with `prefix` (or just
    `groups`), each partition with its committed offset, log end and the timestamp of the
    oldest unconsumed record.

    A named group without committed offsets, or whose offsets cannot be read, comes back
    with `error` set. Raises HubError when the cluster cannot list its groups.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000)})
    try:
        listed = admin.list_consumer_groups(request_timeout=timeout).result(timeout)
    except KafkaException as exc:
        raise HubError(f"cannot list consumer groups at {bootstrap}: {exc.args[0]}") from None
    states = {g.group_id: _state(g.state) for g in listed.valid}
    names = list(dict.fromkeys(groups)) if groups else sorted(g for g in states if g.startswith(prefix))
    consumer = open_reader(bootstrap)
    try:
        out = []
        for name in names:
            obs = _group(admin, consumer, name, states.get(name, "Unknown"), timeout)
            if obs.partitions or groups or obs.error != _NO_OFFSETS:
                out.append(obs)
        return out
    finally:
        consumer.close()


_NO_OFFSETS = "no committed offsets (unknown group, or it never committed)"


def _state(state: Any) -> str:
    name = getattr(state, "name", str(state))
    return _STATES.get(name, name.title())


def _group(admin: AdminClient, consumer: Any, name: str, state: str,
           timeout: float) -> GroupObservation:
    try:
        future = admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(name)], request_timeout=timeout)[name]
        committed = future.result(timeout).topic_partitions or []
    except KafkaException as exc:
        return GroupObservation(name, state, error=f"cannot read committed offsets: {exc.args[0]}")
    parts: list[PartitionObservation] = []
    lagging: list[tuple[str, int, int]] = []
    for tp in committed:
        if tp.error is not None or tp.offset < 0:
            continue  # no offset committed for this partition
        try:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=timeout, cached=False)
        except KafkaException as exc:
            parts.append(PartitionObservation(tp.topic, tp.partition, tp.offset, -1,
                                              error=f"cannot read the log end: {exc.args[0]}"))
            continue
        parts.append(PartitionObservation(tp.topic, tp.partition, tp.offset, int(high)))
        if tp.offset < high:
            lagging.append((tp.topic, tp.partition, tp.offset))
    if not parts:
        return GroupObservation(name, state, error=_NO_OFFSETS)
    oldest = first_records(consumer, lagging, timeout=min(timeout, 5.0))
    parts = [PartitionObservation(p.topic, p.partition, p.committed, p.log_end,
                                  _ts(oldest.get((p.topic, p.partition))), p.error)
             for p in parts]
    return GroupObservation(name, state, tuple(parts))


def _ts(record: Any) -> int | None:
    return None if record is None else record.timestamp_ms
