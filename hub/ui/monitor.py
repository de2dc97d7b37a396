"""The ingress's operations monitor: every `ops_refresh_s` seconds, in the background,
consumer lag with its Burrow-like status (hub/offsets.py, hub/lagreport.py), the newest
dead letters, reconciliation items per status and provider health. `/metrics` (through
observable gauges) and the operator page read the last snapshot; neither waits for
Kafka or PostgreSQL. Kafka reads run in threads, so the event loop never blocks.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hub.dlqreader import DeadLetterTopic, newest_dead_letters
from hub.lag import Rules
from hub.lagreport import GroupReport, Windows, assess
from hub.provider_health import ProviderHealth, read_health
from hub.topics import Topics
from hub.ui.gauges import register_gauges

__all__ = ["Monitor", "Snapshot"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    """What the last refresh found. A part that could not be read keeps its previous
    value and says why in `errors[part]`."""

    at: datetime | None = None
    lag: tuple[GroupReport, ...] = ()
    dead_letters: tuple[DeadLetterTopic, ...] = ()
    redriven: dict[str, int] = field(default_factory=dict)  # dlq topic -> records redriven
    redriven_refs: frozenset[str] = frozenset()  # refs of the newest dead letters redriven
    drift: dict[str, int] | None = None  # status -> items; None: no reconciliation view yet
    health: tuple[ProviderHealth, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)


class Monitor:
    def __init__(self, *, bootstrap: str, pool: Any, topics: Topics, interval_s: float,
                 stale_after: timedelta = timedelta(days=30), rules: Rules | None = None) -> None:
        self.bootstrap = bootstrap
        self.pool = pool
        self.topics = topics
        self.interval_s = interval_s
        self.stale_after = stale_after
        self.rules = rules or Rules()
        self.snapshot = Snapshot()
        self.last_success = time.time()  # counts from the start until a refresh succeeds
        self._windows = Windows()
        self._wake: asyncio.Event | None = None

    async def refresh(self) -> Snapshot:
        """Read everything once; each part fails on its own."""
        now = datetime.now(UTC)
        errors: dict[str, str] = {}
        lag, dead, drift, health = await asyncio.gather(
            self._part("lag", errors, self._lag),
            self._part("dead_letters", errors, self._dead_letters),
            self._part("drift", errors, lambda: self._drift(now)),
            self._part("providers", errors, lambda: self._health(now)))
        old = self.snapshot
        snap = Snapshot(at=now, errors=errors, drift=old.drift if "drift" in errors else drift,
                        lag=old.lag if lag is None else tuple(lag),
                        health=old.health if health is None else tuple(health))
        if dead is None:
            snap = replace(snap, dead_letters=old.dead_letters, redriven=old.redriven,
                           redriven_refs=old.redriven_refs)
        else:
            snap = replace(snap, dead_letters=tuple(dead[0]), redriven=dead[1], redriven_refs=dead[2])
        self.snapshot = snap
        if not errors:
            self.last_success = time.time()
        return snap

    async def _part(self, name: str, errors: dict[str, str],
                    read: Callable[[], Awaitable[T]]) -> T | None:
        try:
            return await read()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one part failing must not stop the others
            errors[name] = f"{type(exc).__name__}: {exc}"
            if self.snapshot.errors.get(name) != errors[name]:
                log.warning("ops monitor: cannot read %s: %s", name, errors[name])
            return None

    async def _lag(self) -> list[GroupReport]:
        from hub.offsets import observe

        observed = await asyncio.to_thread(observe, self.bootstrap, (), 10.0, self.topics.name(""))
        reports = assess(observed, self._windows, time.time(), self.rules)
        self._windows.drop_groups_except({r.group for r in reports})
        return reports

    async def _dead_letters(self) -> tuple[list[DeadLetterTopic], dict[str, int], frozenset[str]]:
        from hub.redrive import done_redrives

        found = await asyncio.to_thread(newest_dead_letters, self.bootstrap, self.topics)
        async with self.pool.acquire() as conn:
            counts = {r["dlq_topic"]: r["n"] for r in await conn.fetch(
                "SELECT dlq_topic, count(*) AS n FROM dlq_redrives WHERE dlq_topic = ANY($1::text[])"
                " GROUP BY dlq_topic", [t.topic for t in found])}
            done = await done_redrives(conn, [d for t in found for d in t.newest])
        refs = frozenset(f"{t}:{p}:{o}" for t, p, o in done)
        return found, counts, refs

    async def _drift(self, now: datetime) -> dict[str, int] | None:
        import asyncpg

        from projections import reconciliation_report as report
        from projections.reconciliation_rules import STATUSES
        from projections.reconciliation_rules import Rules as RecRules

        async with self.pool.acquire() as conn:
            try:
                lines = await report.read(conn, now, RecRules(stale_after=self.stale_after))
            except asyncpg.UndefinedTableError:
                return None  # no projection has run yet: nothing to count
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for line in lines:
            counts[line.status] += 1
        return counts

    async def _health(self, now: datetime) -> list[ProviderHealth]:
        async with self.pool.acquire() as conn:
            return await read_health(conn, self.topics, now)

    def wake(self) -> None:
        """Refresh now (after a redrive, say) instead of at the next tick."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Refresh every `interval_s` seconds until cancelled."""
        self._wake = asyncio.Event()
        while True:
            await self.refresh()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            self._wake.clear()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The refresh loop and the gauges while the block runs."""
        register_gauges(self)
        task = asyncio.create_task(self.run(), name="ops-monitor")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
