"""Provider health: each worker's circuit-breaker state (the `provider_health` table,
written on every change) and, per consumer group, the last hour's outcomes from
`processed_events`: how many events finished, the share done (the provider answered,
declines included) rather than dead-lettered, and p50/p99 of the time from the first
claim to the outcome (provider latency plus any retries)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.times import rfc3339
from hub.topics import Topics

__all__ = ["ProviderHealth", "note_breaker", "read_health"]

log = logging.getLogger(__name__)

_pending: set[asyncio.Task[None]] = set()


def note_breaker(pool: Any, integration: str, group: str, provider: str, state: str,
                 reason: str) -> None:
    """Record a breaker state change in the background: never blocks, never raises (a
    failed write is logged; the next change writes again). Ordered by the time of the
    change, so a late write never replaces a newer state."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop (a unit test driving the breaker by hand): nothing to write with
    task = loop.create_task(_write(pool, integration, group, provider, state, reason,
                                   datetime.now(UTC)))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def _write(pool: Any, integration: str, group: str, provider: str, state: str,
                 reason: str, at: datetime) -> None:
    try:
        await pool.execute(
            "INSERT INTO provider_health (integration, group_name, provider, state, reason,"
            " changed_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (integration) DO UPDATE SET group_name = EXCLUDED.group_name,"
            " provider = EXCLUDED.provider, state = EXCLUDED.state, reason = EXCLUDED.reason,"
            " changed_at = EXCLUDED.changed_at"
            " WHERE provider_health.changed_at <= EXCLUDED.changed_at",
            integration, group, provider, state, reason[:500], at)
    except Exception as exc:  # noqa: BLE001 - health is best effort; the worker goes on
        log.warning("could not record circuit state %s of %s: %s", state, integration, exc,
                    extra={"integration": integration, "breaker": state})


@dataclass(frozen=True)
class ProviderHealth:
    integration: str
    group: str
    provider: str | None
    state: str  # closed | half_open | open | unknown (no change recorded yet)
    state_reason: str | None
    state_since: datetime | None
    events: int
    succeeded: int
    dead_lettered: int
    p50_s: float | None
    p99_s: float | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.events if self.events else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "integration": self.integration, "group": self.group, "provider": self.provider,
            "state": self.state, "state_reason": self.state_reason,
            "state_since": rfc3339(self.state_since) if self.state_since else None,
            "events": self.events, "succeeded": self.succeeded,
            "dead_lettered": self.dead_lettered, "success_rate": self.success_rate,
            "p50_s": self.p50_s, "p99_s": self.p99_s,
        }


async def read_health(conn: Any, topics: Topics, now: datetime,
                      window: timedelta = timedelta(hours=1)) -> list[ProviderHealth]:
    """One line per integration of this deployment (`topics`' prefix) with a breaker
    state or events finished in `window` before `now`, by name."""
    head = topics.name("")
    figures = {r["group_name"]: r for r in await conn.fetch(
        "SELECT group_name, count(*) AS events,"
        " count(*) FILTER (WHERE status = 'done') AS succeeded,"
        " count(*) FILTER (WHERE status = 'dead_lettered') AS dead_lettered,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - reserved_at))"
        "   AS p50,"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - reserved_at))"
        "   AS p99"
        " FROM processed_events WHERE finished_at >= $1 AND group_name LIKE $2"
        " GROUP BY group_name", now - window, _like_prefix(head))}
    states = {r["group_name"]: r for r in await conn.fetch(
        "SELECT * FROM provider_health WHERE group_name LIKE $1", _like_prefix(head))}
    out = []
    for group in sorted(set(figures) | set(states)):
        f, s = figures.get(group), states.get(group)
        out.append(ProviderHealth(
            integration=group.removeprefix(head), group=group,
            provider=s["provider"] if s else None, state=s["state"] if s else "unknown",
            state_reason=s["reason"] if s else None, state_since=s["changed_at"] if s else None,
            events=f["events"] if f else 0, succeeded=f["succeeded"] if f else 0,
            dead_lettered=f["dead_lettered"] if f else 0,
            p50_s=_seconds(f["p50"]) if f else None, p99_s=_seconds(f["p99"]) if f else None))
    return out


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)
