"""What a projection is to the runtime: its topics, its versioned tables, and how it
applies a batch of events inside the runtime's transaction."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hub.consumer import Received
from hub.consumer_client import TP
from hub.topics import Topics

__all__ = ["Projection", "batch_offsets", "versioned"]


def versioned(name: str, version: int, suffix: str = "") -> str:
    """Name of one table or view of one version: `reconciliation_v3_payments`."""
    if version <= 0:
        raise ValueError(f"projection versions start at 1, got {version}")
    return f"{name}_v{version}{suffix}"


class Projection(Protocol):
    """A read model kept from the log. Every table it writes belongs to one version;
    readers use the stable views, which the runtime points at the active version."""

    @property
    def name(self) -> str: ...

    def topics(self, topics: Topics) -> tuple[str, ...]:
        """The topics it reads (prefixed names)."""
        ...

    def create_sql(self, version: int) -> Sequence[str]:
        """Statements creating the tables and views of `version` (IF NOT EXISTS)."""
        ...

    def drop_sql(self, version: int) -> Sequence[str]:
        """Statements dropping every object of `version`, views first."""
        ...

    def stable_views(self, version: int) -> Mapping[str, str]:
        """Stable view name ⇒ the SELECT it stands for when `version` is active."""
        ...

    async def apply(self, conn: Any, version: int, batch: Sequence[Received]) -> None:
        """Apply `batch` (in log order per partition) to the tables of `version`.

        Runs inside the runtime's transaction, which also stores the offsets; it must be
        idempotent (the same event twice, in one batch or across batches, changes nothing
        the second time) and must not depend on the interleaving of partitions.
        """
        ...


def batch_offsets(batch: Sequence[Received]) -> dict[TP, int]:
    """The next offset to read of each partition in `batch`."""
    out: dict[TP, int] = {}
    for r in batch:
        tp = (r.topic, r.partition)
        if r.offset + 1 > out.get(tp, -1):
            out[tp] = r.offset + 1
    return out
