"""Reading dead letters back from Kafka: every `<prefix>hub.dlq.*` topic (or one group's),
the newest few of each for a summary, and the retry topic each would be redriven to.

Blocking (confluent-kafka); async callers run these in a thread. Used by `hub dlq` and by
the ingress's operator page.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.dlq import DeadLetter, first_retry_topic, parse
from hub.errors import HubError
from hub.logreader import Span, open_reader, plan, read
from hub.topics import Topics

__all__ = ["DeadLetterTopic", "newest_dead_letters", "read_dead_letters", "retry_targets"]

_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DeadLetterTopic:
    """One dead-letter topic: how many records it holds and its newest ones, newest first."""

    topic: str
    name: str  # the integration
    group: str
    total: int
    newest: tuple[DeadLetter, ...]


def _dlq_topics(consumer: Any, topics: Topics, group: str | None) -> list[str]:
    head = topics.name("dlq.")
    names = sorted(t for t in consumer.list_topics(timeout=10).topics if t.startswith(head))
    if group is None:
        return names
    names = [t for t in names if group in (t[len(head):], topics.group(t[len(head):]))]
    if not names:
        raise HubError(f"no dead-letter topic for group {group!r} "
                       f"(looked for {topics.dlq(group.removeprefix(topics.name('')))})")
    return names


def read_dead_letters(bootstrap: str, topics: Topics, group: str | None = None) -> list[DeadLetter]:
    """Every dead letter (of `group`, an integration name or group id), oldest first.
    Raises HubError when `group` has no dead-letter topic or the broker does not answer."""
    consumer = open_reader(bootstrap)
    try:
        dead = [parse(r, topics) for t in _dlq_topics(consumer, topics, group)
                for r in read(consumer, plan(consumer, t))]
    finally:
        consumer.close()
    return sorted(dead, key=lambda d: (d.failed_at or _EPOCH, d.ref))


def newest_dead_letters(bootstrap: str, topics: Topics, per_topic: int = 5,
                        timeout: float = 10.0) -> list[DeadLetterTopic]:
    """Every dead-letter topic with its record count and newest `per_topic` dead letters
    (reads only the tail of each partition)."""
    consumer = open_reader(bootstrap)
    try:
        out = []
        for topic in _dlq_topics(consumer, topics, None):
            spans, total = [], 0
            for span in plan(consumer, topic, timeout=timeout):
                total += span.size
                spans.append(Span(topic, span.partition, max(span.start, span.end - per_topic),
                                  span.end))
            dead = sorted((parse(r, topics) for r in read(consumer, spans)),
                          key=lambda d: (d.failed_at or _EPOCH, d.ref), reverse=True)
            name = topic.removeprefix(topics.name("dlq."))
            group = dead[0].group if dead else topics.group(name)
            out.append(DeadLetterTopic(topic, name, group, total, tuple(dead[:per_topic])))
        return out
    finally:
        consumer.close()


def retry_targets(bootstrap: str, dead: Sequence[DeadLetter],
                  topics: Topics) -> tuple[dict[str, str], set[str]]:
    """Where each dead letter would be redriven (its group's first retry topic), by ref,
    and the integrations that have no retry topic."""
    consumer = open_reader(bootstrap)
    try:
        existing = set(consumer.list_topics(timeout=10).topics)
    finally:
        consumer.close()
    out: dict[str, str] = {}
    missing: set[str] = set()
    for d in dead:
        target = first_retry_topic(existing, topics, d.name)
        if target is None:
            missing.add(d.name)
        else:
            out[d.ref] = target
    return out, missing
