"""A progress line on stderr for long reads: records/s, position per partition, ETA.

`Progress` is the arithmetic (clock injected, no I/O); `ProgressLine` draws it: redrawn
in place on a terminal, a plain line every few seconds on a pipe or file.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["Progress", "ProgressLine", "clock_text"]


def clock_text(seconds: float) -> str:
    """`0:07`, `12:30`, `1:02:03`."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass
class Progress:
    """Records read out of `total`, over partitions given as (partition, start, end)."""

    label: str
    spans: Iterable[tuple[int, int, int]]
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    written: int = 0
    total: int = field(init=False)
    _at: dict[int, list[int]] = field(init=False)
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._at = {p: [start, end] for p, start, end in self.spans}
        self.total = sum(max(0, end - start) for start, end in self._at.values())
        self._started = self.clock()

    def advance(self, partition: int, offset: int, *, written: bool) -> None:
        """Record `offset` of `partition` read (and whether it was written out)."""
        self.done += 1
        self.written += int(written)
        if partition in self._at:
            self._at[partition][0] = offset + 1

    def line(self, width: int = 20) -> str:
        """`label [#####-----] 50.0%  500/1,000  200 rec/s  p0 250/500 p1 250/500  ETA 0:03`."""
        total = self.total
        elapsed = self.clock() - self._started
        fraction = 1.0 if total == 0 else min(1.0, self.done / total)
        bar = "#" * int(fraction * width) + "-" * (width - int(fraction * width))
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if fraction >= 1.0:
            tail = f"done in {clock_text(elapsed)}"
        elif rate > 0:
            tail = f"ETA {clock_text((total - self.done) / rate)}"
        else:
            tail = "ETA -:--"
        parts = sorted(self._at.items())
        where = " ".join(f"p{p} {pos}/{end}" for p, (pos, end) in parts[:4])
        if len(parts) > 4:
            where += f" +{len(parts) - 4} partitions"
        return (f"{self.label} [{bar}] {fraction * 100:5.1f}%  {self.done:,}/{total:,}  "
                f"{rate:,.0f} rec/s  {where}  {tail}")


@dataclass
class ProgressLine:
    progress: Progress
    out: TextIO = field(default_factory=lambda: sys.stderr)
    tty_every_s: float = 0.2
    pipe_every_s: float = 5.0
    _last: float = field(default=0.0, init=False)

    def tick(self) -> None:
        """Draw if enough time passed since the last drawing."""
        now = time.monotonic()
        tty = self.out.isatty()
        if now - self._last < (self.tty_every_s if tty else self.pipe_every_s):
            return
        self._last = now
        self.out.write(("\r" + self.progress.line() + "\x1b[K") if tty else self.progress.line() + "\n")
        self.out.flush()

    def finish(self) -> None:
        tty = self.out.isatty()
        self.out.write(("\r" if tty else "") + self.progress.line() + ("\x1b[K\n" if tty else "\n"))
        self.out.flush()
