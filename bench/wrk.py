"""Running wrk with bench/replay.lua and reading what it measured."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import BenchError

__all__ = ["WrkResult", "run_wrk"]

SCRIPT = Path(__file__).with_name("replay.lua")


@dataclass(frozen=True)
class WrkResult:
    duration_s: float
    statuses: dict[int, int]
    errors: dict[str, int]
    sent: int
    wrapped: int
    loaded: int
    latency_us: dict[str, float]

    @property
    def ok(self) -> int:
        """Responses with a 2xx status."""
        return sum(c for s, c in self.statuses.items() if 200 <= s < 300)

    @property
    def rate(self) -> float:
        """2xx responses per second."""
        return self.ok / self.duration_s

    def ms(self, key: str) -> float:
        return self.latency_us[key] / 1000

    def problems(self) -> list[str]:
        """What makes this run not a clean measurement (non-2xx, socket errors, repeats)."""
        out = [f"{c} answered {s}" for s, c in sorted(self.statuses.items()) if not 200 <= s < 300]
        out += [f"{c} {kind} errors" for kind, c in self.errors.items() if c and kind != "status"]
        if self.wrapped:
            out.append(f"{self.wrapped} requests repeated: the request files ran out")
        return out


async def run_wrk(url: str, requests: Path, *, seconds: float, threads: int = 2,
                  connections: int = 64, rate: float = 0.0, timeout_s: int = 10) -> WrkResult:
    """wrk against `url` with the requests in `requests.<thread>`; paced at `rate`/s if > 0."""
    if shutil.which("wrk") is None:
        raise BenchError("wrk not found: apt-get install wrk (`make bench` installs it)")
    env = {**os.environ, "BENCH_REQUESTS": str(requests), "BENCH_THREADS": str(threads),
           "BENCH_RATE": f"{rate:.3f}"}
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s}s", "-s", str(SCRIPT), url]
    proc = await asyncio.create_subprocess_exec(*argv, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=seconds + 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BenchError(f"wrk against {url} did not finish in {seconds + 120:.0f} s") from None
    text = out.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH-JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk against {url} failed (exit {proc.returncode}): "
                         f"{(text + err.decode(errors='replace'))[-1500:]}")
    raw: dict[str, Any] = json.loads(line.removeprefix("BENCH-JSON "))
    return WrkResult(
        duration_s=raw["duration_us"] / 1e6,
        statuses={int(k): int(v) for k, v in raw["statuses"].items()},
        errors={k: int(v) for k, v in raw["errors"].items()},
        sent=int(raw["sent"]),
        wrapped=int(raw["wrapped"]),
        loaded=int(raw["loaded"]),
        latency_us={k: float(v) for k, v in raw["latency_us"].items()},
    )
