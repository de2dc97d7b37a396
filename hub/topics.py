"""Topic names and which topic each event type lives on."""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AREA_TOPICS", "Topics"]

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
}

_DELAY = re.compile(r"^\d+(s|m|h)$")


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

    def core(self) -> list[str]:
        """The topics `hub dev up` and `hub topics create` make: one per area."""
        return sorted({self.name(area) for area in AREA_TOPICS.values()})
