"""`hub projections status`: each projection's versions, position and lag."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.consumer_client import TP
from hub.topics import Topics
from projections import registry
from projections.base import Projection
from projections.kafka_offsets import watermarks

__all__ = ["VersionStatus", "gather", "render"]


@dataclass(frozen=True)
class VersionStatus:
    name: str
    version: int | None  # None: never started
    state: str  # active | building | not started
    position: dict[TP, int]
    end: dict[TP, int]
    updated_at: datetime | None

    @property
    def lag(self) -> int:
        return sum(max(0, self.end[tp] - self.position.get(tp, 0)) for tp in self.end)

    def as_json(self) -> dict[str, Any]:
        return {
            "projection": self.name, "version": self.version, "state": self.state,
            "position": sum(self.position.values()), "end": sum(self.end.values()),
            "lag": self.lag,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "partitions": [{"topic": t, "partition": p, "position": self.position.get((t, p)),
                            "end": e} for (t, p), e in sorted(self.end.items())],
        }


async def gather(pool: Any, bootstrap: str, topics: Topics,
                 projections: Sequence[Projection]) -> list[VersionStatus]:
    """Active and building versions of every projection, positions from PostgreSQL
    (a partition never read counts from its oldest offset) and ends from Kafka."""
    out: list[VersionStatus] = []
    async with pool.acquire() as conn:
        infos = await registry.versions(conn)
        updated = {(r["name"], r["version"]): r["updated_at"] for r in await conn.fetch(
            "SELECT name, version, max(updated_at) AS updated_at FROM projection_offsets"
            " GROUP BY name, version")}
        stored = {(i.name, i.version): await registry.load_offsets(conn, i.name, i.version)
                  for i in infos if i.state != "retired"}
    for p in projections:
        marks = await asyncio.to_thread(watermarks, bootstrap, p.topics(topics))
        live = [i for i in infos if i.name == p.name and i.state != "retired"]
        if not live:
            out.append(VersionStatus(p.name, None, "not started", dict(marks.low),
                                     dict(marks.high), None))
        for i in live:
            offsets = stored[(i.name, i.version)]
            position = {tp: max(offsets.get(tp, low), low) for tp, low in marks.low.items()}
            out.append(VersionStatus(p.name, i.version, i.state, position, dict(marks.high),
                                     updated.get((i.name, i.version))))
    return out


def render(statuses: Sequence[VersionStatus]) -> str:
    head = f"{'PROJECTION':<16}{'VERSION':>8}  {'STATE':<12}{'POSITION':>12}{'END':>12}{'LAG':>10}  UPDATED"
    lines = [head]
    for s in statuses:
        when = s.updated_at.strftime("%Y-%m-%d %H:%M:%S") if s.updated_at else "-"
        version = str(s.version) if s.version is not None else "-"
        lines.append(f"{s.name:<16}{version:>8}  {s.state:<12}{sum(s.position.values()):>12,}"
                     f"{sum(s.end.values()):>12,}{s.lag:>10,}  {when}")
    return "\n".join(lines)
