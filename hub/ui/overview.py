"""The operator page's JSON: a monitor snapshot as plain values. Pure: no I/O."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.dlq import DeadLetter
from hub.times import rfc3339
from hub.ui.gauges import lag_by_topic
from hub.ui.monitor import Snapshot

__all__ = ["overview"]


def overview(snap: Snapshot, *, refresh_s: float, stale_s: float) -> dict[str, Any]:
    """Everything `/admin/api/overview` returns; strings are raw (the page escapes them)."""
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in lag_by_topic(snap.lag):
        by_group.setdefault(row["group"], []).append(row)
    groups = [{
        "group": r.group, "state": r.state, "status": r.status, "lag": r.lag,
        "lag_seconds": r.lag_seconds, "error": r.error,
        "topics": [{k: t[k] for k in ("topic", "lag", "lag_seconds", "status")}
                   for t in by_group.get(r.group, []) if t["topic"]],
        "reasons": [f"{p.topic}[{p.partition}] {p.status}: {p.reason}"
                    for p in r.partitions if p.status != "OK"],
    } for r in snap.lag]
    drift = None
    if snap.drift is not None:
        drift = {"statuses": [{"status": s, "count": n} for s, n in snap.drift.items()],
                 "items": sum(snap.drift.values()),
                 "drifting": sum(n for s, n in snap.drift.items() if s != "matched")}
    return {
        "refreshed_at": _iso(snap.at), "refresh_s": refresh_s, "stale_s": round(stale_s, 1),
        "errors": dict(snap.errors),
        "groups": groups,
        "dead_letters": [{
            "topic": t.topic, "integration": t.name, "group": t.group, "total": t.total,
            "redriven": snap.redriven.get(t.topic, 0),
            "newest": [_dead(d, d.ref in snap.redriven_refs) for d in t.newest],
        } for t in snap.dead_letters],
        "providers": [h.as_dict() for h in snap.health],
        "drift": drift,
    }


def _dead(d: DeadLetter, redriven: bool) -> dict[str, Any]:
    return {"ref": d.ref, "event_id": d.event_id, "event_type": d.event_type,
            "failed_at": _iso(d.failed_at), "error_class": d.error_class,
            "error_message": d.error_message, "attempts": d.attempts, "redriven": redriven}


def _iso(t: datetime | None) -> str | None:
    return rfc3339(t) if t is not None else None
