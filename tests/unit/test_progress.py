"""The rebuild's progress line."""
from __future__ import annotations

import asyncio
import io

import pytest

from projections.progress import ProgressLine, Tracker, render

pytestmark = pytest.mark.unit


def test_render_midway() -> None:
    assert render("rebuild reconciliation v3", 52_000, 100_000, 21_000.4, 3.0, width=10) == (
        "rebuild reconciliation v3 [#####-----]  52.0%  52,000/100,000 events  21,000 ev/s  ETA 0:02")


def test_render_long_eta_done_and_unknown() -> None:
    assert render("r", 0, 10_000_000, 1000, 1.0, width=4).endswith("1,000 ev/s  ETA 2:46:40")
    assert render("r", 10, 10, 5, 62.0, width=4) == "r [####] 100.0%  10/10 events  5 ev/s  done in 1:02"
    assert render("r", 0, 10, 0, 0.0, width=4).endswith("ETA --:--")
    assert render("r", 0, 0, 0, 0.1, width=4).startswith("r [####] 100.0%  0/0 events")


async def test_line_on_a_pipe_prints_whole_lines() -> None:
    out = io.StringIO()
    tracker = Tracker(total=1000)
    line = ProgressLine("rebuild x v1", tracker, out, pipe_interval_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(line.run(stop))
    tracker.add(400)
    await asyncio.sleep(0.12)
    tracker.add(600)
    stop.set()
    await task
    line.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("rebuild x v1 [#########---------------]  40.0%  400/1,000 events")
    assert lines[-1].startswith("rebuild x v1 [########################] 100.0%  1,000/1,000 events")
    assert "done in 0:00" in lines[-1]
