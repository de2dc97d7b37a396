"""Topic names and which topic each event type lives on."""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AREA_TOPICS", "Topics", "delay_seconds"]

# Event type prefix ⇒ topic area. A type's area is the part before the first dot.
AREA_TOPICS: dict[str, str] = {
    "webhook": "webhooks",
    "payment": "payments",
    "sms": "messaging",
    "invoice": "accounting",
    "journal": "accounting",
    "customer": "accounting",
    "email": "email",
    "integration": "outcomes",
    "dlq": "outcomes",
}

_DELAY = re.compile(r"^\d+(s|m|h)$")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def delay_seconds(delay: str) -> int:
    """Seconds of a retry delay label: "30s" -> 30, "5m" -> 300, "1h" -> 3600.

    Raises ValueError for anything else (including zero).
    """
    if not _DELAY.match(delay) or int(delay[:-1]) <= 0:
        raise ValueError(f"retry delay {delay!r}: expected a positive count of s, m or h (30s, 5m, 1h)")
    return int(delay[:-1]) * _UNIT[delay[-1]]


@dataclass(frozen=True)
class Topics:
    """Every topic name hub uses, under an optional prefix (tests use a random one)."""

    prefix: str = ""

    def name(self, suffix: str) -> str:
        return f"{self.prefix}hub.{suffix}"

    @property
    def webhooks(self) -> str:
        return self.name("webhooks")

    @property
    def outcomes(self) -> str:
        return self.name("outcomes")

    def for_type(self, event_type: str) -> str:
        """The topic an event type is written to; KeyError names the unknown area."""
        area = event_type.split(".", 1)[0]
        try:
            return self.name(AREA_TOPICS[area])
        except KeyError:
            raise KeyError(f"no topic for event type {event_type!r} (area {area!r})") from None

    def retry(self, group: str, delay: str) -> str:
        if not _DELAY.match(delay):
            raise ValueError(f"retry delay {delay!r}: expected e.g. 30s, 5m, 1h")
        return self.name(f"retry.{group}.{delay}")

    def dlq(self, group: str) -> str:
        return self.name(f"dlq.{group}")

    def group(self, integration: str) -> str:
        """Consumer group id of an integration's worker: `<prefix>hub.<integration>`."""
        return self.name(integration)

    def core(self) -> list[str]:
        """The topics `hub dev up` and `hub topics create` make: one per area."""
        return sorted({self.name(area) for area in AREA_TOPICS.values()})
