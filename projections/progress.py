"""The rebuild's progress line: position, events/s and ETA (formatting has no I/O)."""
from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["ProgressLine", "Tracker", "render"]


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def render(label: str, done: int, total: int, rate: float, elapsed: float,
           width: int = 24) -> str:
    """`label [######------] 52.0%  52,000/100,000 events  21,000 ev/s  ETA 0:02`."""
    fraction = 1.0 if total <= 0 else min(1.0, done / total)
    filled = int(fraction * width)
    bar = "#" * filled + "-" * (width - filled)
    if fraction >= 1.0:
        tail = f"done in {_clock(elapsed)}"
    elif rate > 0:
        tail = f"ETA {_clock((total - done) / rate)}"
    else:
        tail = "ETA --:--"
    return (f"{label} [{bar}] {fraction * 100:5.1f}%  {done:,}/{total:,} events  "
            f"{rate:,.0f} ev/s  {tail}")


@dataclass
class Tracker:
    """Events done out of a total; the rate is over the last `window_s` seconds."""

    total: int
    window_s: float = 5.0
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    _samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, n: int) -> None:
        self.done += n

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        now = time.monotonic()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        t0, d0 = self._samples[0]
        if now - t0 < 0.2:
            return self.done / self.elapsed if self.elapsed > 0 else 0.0
        return (self.done - d0) / (now - t0)


@dataclass
class ProgressLine:
    """Redraws one line on a terminal (every `interval_s`); on a pipe or file, prints a
    line every `pipe_interval_s` instead."""

    label: str
    tracker: Tracker
    out: TextIO = field(default_factory=lambda: sys.stderr)
    interval_s: float = 0.25
    pipe_interval_s: float = 5.0

    def line(self, final: bool = False) -> str:
        t = self.tracker
        done = min(t.done, t.total)
        rate = t.done / t.elapsed if final and t.elapsed > 0 else t.rate()
        return render(self.label, done, t.total, rate, t.elapsed)

    async def run(self, stop: asyncio.Event) -> None:
        tty = self.out.isatty()
        interval = self.interval_s if tty else self.pipe_interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                break
            self.out.write(("\r" + self.line() + "\x1b[K") if tty else self.line() + "\n")
            self.out.flush()

    def finish(self) -> None:
        tty = self.out.isatty()
        self.out.write(("\r" if tty else "") + self.line(final=True) + ("\x1b[K\n" if tty else "\n"))
        self.out.flush()
