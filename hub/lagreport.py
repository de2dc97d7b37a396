"""What `hub lag` observed, the sample windows it keeps between runs, and the report.

Pure: the Kafka reads live in hub/offsets.py, the rules in hub/lag.py. `Windows` is
JSON-serialisable so a scheduler calling `hub lag` every minute builds a window across
invocations (`<state>/lag-window.json`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.lag import Rules, Sample, Status, evaluate, worst

__all__ = [
    "GroupObservation",
    "GroupReport",
    "PartitionObservation",
    "PartitionReport",
    "Windows",
    "assess",
]


@dataclass(frozen=True, slots=True)
class PartitionObservation:
    """A partition a group has committed an offset for. `oldest_unconsumed_ms` is the
    timestamp of the record at the committed offset (None when caught up or unknown)."""

    topic: str
    partition: int
    committed: int
    log_end: int
    oldest_unconsumed_ms: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class GroupObservation:
    group: str
    state: str
    partitions: tuple[PartitionObservation, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PartitionReport:
    topic: str
    partition: int
    committed: int
    log_end: int
    lag: int
    lag_seconds: float | None
    status: Status
    reason: str
    samples: int

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "committed": self.committed,
                "log_end": self.log_end, "lag": self.lag, "lag_seconds": self.lag_seconds,
                "status": self.status, "reason": self.reason, "samples": self.samples}


@dataclass(frozen=True, slots=True)
class GroupReport:
    group: str
    state: str
    status: Status
    partitions: tuple[PartitionReport, ...]
    error: str | None = None

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def lag_seconds(self) -> float | None:
        """Age of the oldest unconsumed record over all partitions (None if unknown)."""
        known = [p.lag_seconds for p in self.partitions if p.lag_seconds is not None]
        return max(known) if known else None

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group, "state": self.state, "status": self.status,
                "lag": self.lag, "lag_seconds": self.lag_seconds, "error": self.error,
                "partitions": [p.as_dict() for p in self.partitions]}


_Key = tuple[str, str, int]


@dataclass
class Windows:
    """The last samples of every (group, topic, partition), oldest first."""

    samples: dict[_Key, list[Sample]] = field(default_factory=dict)

    def push(self, group: str, topic: str, partition: int, sample: Sample, keep: int) -> list[Sample]:
        window = self.samples.setdefault((group, topic, partition), [])
        if window and sample.at <= window[-1].at:
            window.clear()  # a clock that went back makes the old samples meaningless
        window.append(sample)
        del window[:-keep]
        return window

    def retain(self, group: str, keys: set[tuple[str, int]]) -> None:
        """Forget partitions of `group` that are not in `keys` (no longer committed)."""
        for key in [k for k in self.samples if k[0] == group and (k[1], k[2]) not in keys]:
            del self.samples[key]

    def drop_groups_except(self, groups: set[str]) -> None:
        for key in [k for k in self.samples if k[0] not in groups]:
            del self.samples[key]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (group, topic, partition), window in sorted(self.samples.items()):
            out.setdefault(group, {}).setdefault(topic, {})[str(partition)] = [
                [s.at, s.committed, s.log_end] for s in window]
        return out

    @classmethod
    def from_json(cls, raw: Any) -> Windows:
        """Windows from `to_json` output; anything malformed is dropped, not fatal."""
        windows = cls()
        if not isinstance(raw, dict):
            return windows
        for group, topics in raw.items():
            for topic, parts in (topics if isinstance(topics, dict) else {}).items():
                for partition, rows in (parts if isinstance(parts, dict) else {}).items():
                    try:
                        samples = [Sample(float(r[0]), int(r[1]), int(r[2])) for r in rows]
                        windows.samples[(str(group), str(topic), int(partition))] = samples
                    except (TypeError, ValueError, IndexError):
                        continue
        return windows


def assess(
    observed: list[GroupObservation], windows: Windows, now: float, rules: Rules
) -> list[GroupReport]:
    """Add this observation to the windows and judge every group (sorted by name)."""
    reports = []
    for group in sorted(observed, key=lambda g: g.group):
        parts = []
        for p in sorted(group.partitions, key=lambda p: (p.topic, p.partition)):
            sample = Sample(now, p.committed, p.log_end)
            if p.error is not None:
                parts.append(PartitionReport(p.topic, p.partition, p.committed, p.log_end,
                                             sample.lag, None, "ERR", p.error, 0))
                continue
            window = windows.push(group.group, p.topic, p.partition, sample, rules.window)
            verdict = evaluate(window, now, rules)
            parts.append(PartitionReport(
                p.topic, p.partition, p.committed, p.log_end, sample.lag,
                _lag_seconds(sample.lag, p.oldest_unconsumed_ms, now),
                verdict.status, verdict.reason, len(window)))
        windows.retain(group.group, {(p.topic, p.partition) for p in group.partitions})
        status: Status = "ERR" if group.error else worst(p.status for p in parts)
        reports.append(GroupReport(group.group, group.state, status, tuple(parts), group.error))
    return reports


def _lag_seconds(lag: int, oldest_ms: int | None, now: float) -> float | None:
    if lag == 0:
        return 0.0
    if oldest_ms is None:
        return None
    return round(max(0.0, now - oldest_ms / 1000.0), 3)
