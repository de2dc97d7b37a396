"""The monitor's snapshot as observable gauges: consumer lag (records, age, status) per
group and topic, reconciliation items per status, and how stale the figures are.
Read at scrape time from the last refresh; nothing here touches Kafka or PostgreSQL."""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hub.lag import SEVERITY, worst
from hub.lagreport import GroupReport
from hub.metrics import GAUGES, gauge_source

if TYPE_CHECKING:
    from hub.ui.monitor import Monitor

__all__ = ["lag_by_topic", "register_gauges"]

Reading = list[tuple[float, dict[str, Any]]]


def lag_by_topic(reports: Iterable[GroupReport]) -> list[dict[str, Any]]:
    """Per group and topic: records behind, age of the oldest unconsumed record (None when
    unknown) and the worst partition status. A group whose offsets could not be read
    appears once, with topic "" and status ERR."""
    out = []
    for r in reports:
        topics = sorted({p.topic for p in r.partitions})
        if not topics:
            out.append({"group": r.group, "topic": "", "lag": 0, "lag_seconds": None,
                        "status": r.status})
        for topic in topics:
            parts = [p for p in r.partitions if p.topic == topic]
            ages = [p.lag_seconds for p in parts if p.lag_seconds is not None]
            out.append({"group": r.group, "topic": topic, "lag": sum(p.lag for p in parts),
                        "lag_seconds": max(ages) if ages else None,
                        "status": worst(p.status for p in parts)})
    return out


def register_gauges(monitor: Monitor) -> None:
    """Point hub's lag, drift and staleness gauges at `monitor` (the last one registered
    in a process wins)."""
    def lag() -> Reading:
        return [(float(x["lag"]), {"group": x["group"], "topic": x["topic"]})
                for x in lag_by_topic(monitor.snapshot.lag)]

    def age() -> Reading:
        return [(float(x["lag_seconds"]), {"group": x["group"], "topic": x["topic"]})
                for x in lag_by_topic(monitor.snapshot.lag) if x["lag_seconds"] is not None]

    def status() -> Reading:
        return [(float(SEVERITY[x["status"]]), {"group": x["group"], "topic": x["topic"]})
                for x in lag_by_topic(monitor.snapshot.lag)]

    def items() -> Reading:
        drift = monitor.snapshot.drift or {}
        return [(float(n), {"status": s}) for s, n in drift.items()]

    def staleness() -> Reading:
        return [(round(time.time() - monitor.last_success, 3), {})]

    for name, read in (("hub.consumer.lag", lag), ("hub.consumer.lag.age", age),
                       ("hub.consumer.lag.status", status), ("hub.reconciliation.items", items),
                       ("hub.monitor.staleness", staleness)):
        unit, description = GAUGES[name]
        gauge_source(name, description, unit, read)
