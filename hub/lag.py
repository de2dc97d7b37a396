"""Consumer lag status over a sliding window, judged the way Burrow does. Pure: no I/O.

Burrow (linkedin/Burrow, wiki "Consumer Lag Evaluation Rules" and
core/internal/evaluator/caching.go) keeps, per partition a group consumes, a window of
the last N committed offsets, each with its commit time and the lag at that time, and
rates the partition with these rules, first match wins:

1. If the current lag is zero, or the lag was zero at any point in the window: OK.
2. If the committed offset went backwards between two entries: REWIND (an error).
3. If the time since the last commit exceeds the time the window spans (last commit
   minus first): STOP, the consumer stopped committing.
4. If every entry holds the same offset (the consumer commits, but makes no progress,
   while there is lag): STALL.
5. If the offsets advance but the lag never decreases from one entry to the next:
   WARN, the consumer is too slow to keep up.
6. Otherwise OK. The group's status is the worst of its partitions.

Kafka's OffsetFetch answer carries no commit time, and a client that has nothing new
to commit does not commit at all, so hub cannot see commits the way Burrow (which
reads `__consumer_offsets`) does. hub's window is therefore a window of *samples*: each
`hub lag` run (or `--watch` tick) observes the committed offset and the log end of
every partition, and a commit is seen when the committed offset changes between
samples. The rules become, first match wins:

- ERR: the committed offset is past the log end, or went backwards within the window
  while there is lag (Burrow's REWIND); a group whose offsets cannot be read is ERR too.
- OK: the lag is zero now.
- STOPPED: for at least `stopped_after_s` (configured), every sample had lag and the
  same committed offset: no commit has moved it for that long. Measured from the first
  such sample, so a quiet topic whose consumer was idle at zero lag is not "stopped"
  when a new record arrives (the false alarm Burrow fixed in its PR #338).
- OK: the lag was zero in some sample of the window (Burrow's rule 1).
- STALL: at least two samples, all with the same committed offset, lag in all of them.
- WARN: the offset moved, but the lag never decreased from one sample to the next.
- OK otherwise, and with fewer than two samples (nothing to compare yet).

Severity, lowest first: OK, WARN, STALL, STOPPED, ERR.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["SEVERITY", "STATUSES", "Rules", "Sample", "Status", "Verdict", "evaluate", "worst"]

Status = Literal["OK", "WARN", "STALL", "STOPPED", "ERR"]
STATUSES: tuple[Status, ...] = ("OK", "WARN", "STALL", "STOPPED", "ERR")
SEVERITY: dict[Status, int] = {s: i for i, s in enumerate(STATUSES)}


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation of a partition: when (epoch seconds), committed offset, log end."""

    at: float
    committed: int
    log_end: int

    @property
    def lag(self) -> int:
        return max(0, self.log_end - self.committed)


@dataclass(frozen=True)
class Rules:
    """`window`: samples kept per partition; `stopped_after_s`: seconds behind without
    progress after which a partition is STOPPED."""

    window: int = 10
    stopped_after_s: float = 300.0

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"lag window must hold at least 2 samples, got {self.window}")
        if self.stopped_after_s <= 0:
            raise ValueError(f"stopped-after must be > 0 seconds, got {self.stopped_after_s:g}")


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: str


def evaluate(samples: Sequence[Sample], now: float, rules: Rules) -> Verdict:
    """The status of one partition from its samples (oldest first, the current one last)."""
    if not samples:
        return Verdict("OK", "no samples yet")
    cur = samples[-1]
    if cur.committed > cur.log_end:
        return Verdict("ERR", f"committed offset {cur.committed} is past the log end {cur.log_end} "
                              "(topic recreated or truncated?)")
    if cur.lag == 0:
        return Verdict("OK", "caught up")
    for before, after in zip(samples, samples[1:], strict=False):
        if after.committed < before.committed:
            return Verdict("ERR", f"committed offset went back from {before.committed} "
                                  f"to {after.committed} (rewind)")
    run = _behind_without_progress(samples)
    if len(run) >= 2 and now - run[0].at >= rules.stopped_after_s:
        return Verdict("STOPPED", f"offset {cur.committed} has not moved for {now - run[0].at:.0f} s "
                                  f"while {cur.lag} records wait (limit {rules.stopped_after_s:g} s)")
    if any(s.lag == 0 for s in samples):
        return Verdict("OK", "lag was 0 within the window")
    if len(samples) < 2:
        return Verdict("OK", "one sample so far; nothing to compare")
    if len(run) == len(samples):
        return Verdict("STALL", f"offset {cur.committed} unchanged over {len(samples)} samples "
                                f"({cur.at - samples[0].at:.0f} s) while lag went "
                                f"{samples[0].lag} -> {cur.lag}")
    if all(after.lag >= before.lag for before, after in zip(samples, samples[1:], strict=False)):
        return Verdict("WARN", f"consumer commits but lag never fell over {len(samples)} samples "
                               f"({samples[0].lag} -> {cur.lag})")
    return Verdict("OK", "consuming; lag falling")


def _behind_without_progress(samples: Sequence[Sample]) -> list[Sample]:
    """The trailing samples that all had lag and the current committed offset."""
    cur = samples[-1]
    run: list[Sample] = []
    for s in reversed(samples):
        if s.committed != cur.committed or s.lag == 0:
            break
        run.append(s)
    run.reverse()
    return run


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; OK for none."""
    return max(statuses, key=SEVERITY.__getitem__, default="OK")
