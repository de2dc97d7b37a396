"""What the operator page asks of the ingress besides the snapshot: one subject's story
from the audit view, and a dead-letter redrive (dry run first) through hub/redrive.py,
the same code and the same records (`dlq_redrives`, `dlq.redriven`) as `hub dlq redrive`."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.errors import HubError
from hub.producer import HubProducer
from hub.schemastore import SchemaStore
from hub.times import rfc3339
from hub.ui.monitor import Monitor

if TYPE_CHECKING:
    from hub.bootstrap import Runtime

__all__ = ["Operations", "UnavailableError", "operations"]

STORY_LIMIT = 200


class UnavailableError(HubError):
    """What the page asked for cannot be answered yet (no view, no retry topic); the
    message says what to run."""


@dataclass
class Operations:
    """The ingress's operator side: the monitor, and what a redrive produces with."""

    monitor: Monitor
    producer: HubProducer
    schemas: SchemaStore
    _redriving: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def story(self, subject: str) -> dict[str, Any]:
        """The newest `STORY_LIMIT` audit entries about `subject`, oldest first."""
        import asyncpg

        from projections.audit_store import story

        async with self.monitor.pool.acquire() as conn:
            try:
                lines = await story(conn, subject)
            except asyncpg.UndefinedTableError:
                raise UnavailableError("no audit view yet; run `hub project audit` (or "
                                       "`hub projections rebuild audit`)") from None
        shown = lines[-STORY_LIMIT:]
        return {"subject": subject, "total": len(lines), "entries": [
            {"time": rfc3339(s.time), "kind": s.kind, "event_type": s.event_type,
             "source": s.source, "summary": s.summary, "event_id": s.event_id, "where": s.where}
            for s in shown]}

    async def redrive(self, group: str, *, dry_run: bool, refs: Sequence[str] | None, by: str,
                      reason: str | None) -> dict[str, Any]:
        """Redrive `group`'s dead letters (only `refs`, when given) to its first retry
        topic; with `dry_run`, only say what would happen. One redrive at a time."""
        from hub.dlqreader import read_dead_letters, retry_targets
        from hub.redrive import redrive

        m = self.monitor
        async with self._redriving:
            dead = await asyncio.to_thread(read_dead_letters, m.bootstrap, m.topics, group)
            if refs is not None:
                wanted = set(refs)
                dead = [d for d in dead if d.ref in wanted]
            targets, missing = await asyncio.to_thread(retry_targets, m.bootstrap, dead, m.topics)
            if missing:
                raise UnavailableError(
                    f"no retry topic for {', '.join(sorted(missing))}; start its worker once "
                    "(`hub consume NAME` creates them) or use `hub dlq redrive --to-original`")
            async with m.pool.acquire() as conn:
                results = await redrive(dead, targets, conn=conn,
                                        producer=None if dry_run else self.producer,
                                        schemas=self.schemas, topics=m.topics, by=by,
                                        reason=reason, now=datetime.now(UTC), dry_run=dry_run)
        if not dry_run:
            m.wake()
        counts: dict[str, int] = {}
        for r in results:
            counts[r.action] = counts.get(r.action, 0) + 1
        return {"group": group, "dry_run": dry_run, "counts": counts,
                "results": [r.as_dict() for r in results]}


def operations(rt: Runtime, pool: Any, producer: HubProducer) -> Operations | None:
    """The ingress's operator side, or None when `[ingress] admin_token` is not set (then
    nobody could see it, so nothing is refreshed). Reads `[projections.reconciliation]`
    for what counts as stale; ConfigError names a wrong key there."""
    ingress = rt.config.ingress
    if not ingress.admin_token:
        return None
    from projections.options import ProjectionOptions

    options = ProjectionOptions.from_raw(rt.config.raw, str(rt.config.path or "config"))
    monitor = Monitor(bootstrap=rt.servers.kafka_bootstrap, pool=pool, topics=rt.topics,
                      interval_s=ingress.ops_refresh_s, stale_after=options.stale_after)
    return Operations(monitor, producer, rt.schemas)
