"""The faults of a run: planned from the seed (kind, moment, target, size), then injected
one after another while the workload runs, each with what it did."""
from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from chaos.profile import Profile
from chaos.stack import ChaosStack

__all__ = ["CORE_KINDS", "Fault", "FaultResult", "Injector", "plan"]

SIMULATORS = ("payments", "sms", "accounting", "email")
# Every kind of fault; a short run injects each of these once.
CORE_KINDS = ("kill_ingress", "kill_workers", "kafka_restart", "provider_500", "provider_429",
              "provider_timeout", "provider_slow", "db_stall")
EXTRA_KINDS = ("kill_projections", "provider_reject")
KINDS = CORE_KINDS + EXTRA_KINDS


@dataclass(frozen=True)
class Fault:
    """`at`: seconds after the workload starts; `duration`: how long the fault lasts
    (a process or server down, a stall, a window of timeouts); `size`: requests affected."""

    at: float
    kind: str
    target: str
    duration: float = 0.0
    size: int = 0
    hard: bool = False

    def describe(self) -> str:
        if self.kind.startswith("kill_"):
            return f"SIGKILL {self.target}, restart after {self.duration:.1f} s"
        if self.kind == "kafka_restart":
            how = "SIGKILL" if self.hard else "SIGTERM"
            return f"{how} the broker, start after {self.duration:.1f} s"
        if self.kind == "provider_500":
            return f"{self.target}: next {self.size} calls answer 500"
        if self.kind == "provider_429":
            return f"{self.target}: next {self.size} calls answer 429, Retry-After 1"
        if self.kind == "provider_timeout":
            return (f"{self.target}: 40% of calls hang 3 s after the effect, "
                    f"for {self.duration:.1f} s")
        if self.kind == "provider_slow":
            return (f"{self.target}: answers take {self.size} ± {self.size * 6 // 10} ms "
                    f"(the workers time out at 2 s) for {self.duration:.1f} s")
        if self.kind == "provider_reject":
            return f"{self.target}: every call answers 422 for {self.duration:.1f} s"
        if self.kind == "db_stall":
            return f"SIGSTOP PostgreSQL (postmaster, backends) for {self.duration:.1f} s, then SIGCONT"
        return self.kind


@dataclass
class FaultResult:
    fault: Fault
    started: float = 0.0  # seconds after the workload started
    took: float = 0.0
    note: str = ""
    error: str | None = None


def plan(seed: int, profile: Profile, only: Sequence[str] = ()) -> list[Fault]:
    """The faults of a run: the same for the same seed, profile and `only` (the kinds to
    inject instead of the profile's mix, each once, to repeat one finding)."""
    rng = random.Random(f"{seed}:faults")
    kinds = list(CORE_KINDS)
    if profile.faults > len(kinds):
        kinds += list(EXTRA_KINDS)
        kinds += rng.choices(KINDS, k=profile.faults - len(kinds))
    kinds = list(only) or kinds[: profile.faults]
    rng.shuffle(kinds)
    window = profile.window_s
    moments = sorted(rng.uniform(0.06 * window, 0.85 * window) for _ in kinds)
    faults = [_fault(rng, kind, at) for kind, at in zip(kinds, moments, strict=True)]
    # The ambiguous case at its worst, once in every run and first, so that no earlier
    # fault holds the kill back: the workers are SIGKILLed while SMS sends hang after
    # their effect (Twilio takes no idempotency key to replay).
    timeout = next((i for i, f in enumerate(faults) if f.kind == "provider_timeout"), None)
    kill = next((i for i, f in enumerate(faults) if f.kind == "kill_workers"), None)
    if timeout is None or kill is None:
        return faults
    first = moments[0]
    faults[timeout] = replace(faults[timeout], at=first, target="sms",
                              duration=max(faults[timeout].duration, 6.0))
    killed_at = first + rng.uniform(1.5, 3.0)
    faults[kill] = replace(faults[kill], at=killed_at)
    return sorted((f if i in (timeout, kill) or f.at > killed_at + 0.5
                   else replace(f, at=killed_at + 0.5 + 0.1 * i) for i, f in enumerate(faults)),
                  key=lambda f: f.at)


def _fault(rng: random.Random, kind: str, at: float) -> Fault:
    sim = rng.choice(SIMULATORS)
    if kind.startswith("kill_"):
        return Fault(at, kind, kind.removeprefix("kill_"), duration=rng.uniform(0.3, 2.5))
    if kind == "kafka_restart":
        return Fault(at, kind, "kafka", duration=rng.uniform(1.0, 4.0), hard=rng.random() < 0.5)
    if kind in ("provider_500", "provider_429"):
        return Fault(at, kind, sim, size=rng.randrange(10, 41))
    if kind == "provider_timeout":
        return Fault(at, kind, sim, duration=rng.uniform(3.0, 8.0))
    if kind == "provider_reject":
        return Fault(at, kind, sim, duration=rng.uniform(1.0, 3.0))
    if kind == "provider_slow":
        return Fault(at, kind, sim, duration=rng.uniform(3.0, 8.0), size=rng.randrange(2500, 4001))
    return Fault(at, "db_stall", "postgres", duration=rng.uniform(2.0, 5.0))


# Faults that open a window at a provider and close it later: they run beside the others.
_WINDOWS = ("provider_timeout", "provider_reject", "provider_slow")


@dataclass
class Injector:
    """Injects planned faults in order and, in between, restarts a process that exited on
    its own, as a supervisor would, counting it. Process and server faults never overlap;
    a provider's window of timeouts or rejections stays open while the next ones come."""

    stack: ChaosStack
    results: list[FaultResult] = field(default_factory=list)
    restarted: list[tuple[float, str]] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self, faults: list[Fault], started: float) -> None:
        async with aiohttp.ClientSession() as http:
            windows = []
            for fault in faults:
                delay = started + fault.at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                result = FaultResult(fault, started=time.monotonic() - started)
                if fault.kind in _WINDOWS:
                    windows.append(asyncio.create_task(self._attempt(http, result)))
                    continue
                async with self._lock:
                    await self._attempt(http, result)
            await asyncio.gather(*windows)
        self.results.sort(key=lambda r: r.started)

    async def _attempt(self, http: aiohttp.ClientSession, result: FaultResult) -> None:
        t = time.monotonic()
        try:
            result.note = await self._inject(http, result.fault)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            result.error = f"{type(exc).__name__}: {exc}"
        result.took = time.monotonic() - t
        self.results.append(result)

    async def supervise(self, stop: asyncio.Event, started: float) -> None:
        while not stop.is_set():
            async with self._lock:
                try:
                    for name in await asyncio.to_thread(self.stack.restart_dead):
                        self.restarted.append((time.monotonic() - started, name))
                except Exception as exc:  # noqa: BLE001 - tried again on the next tick
                    self.restarted.append((time.monotonic() - started, f"restart failed: {exc}"))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass

    async def _inject(self, http: aiohttp.ClientSession, fault: Fault) -> str:
        stack = self.stack
        if fault.kind.startswith("kill_"):
            await asyncio.to_thread(stack.kill, fault.target, signal.SIGKILL)
            await asyncio.sleep(fault.duration)
            t = time.monotonic()
            await asyncio.to_thread(stack.start, fault.target)
            return f"restarted, up in {time.monotonic() - t:.1f} s"
        if fault.kind == "kafka_restart":
            t = time.monotonic()
            await asyncio.to_thread(stack.kafka_down, hard=fault.hard)
            took = time.monotonic() - t
            await asyncio.sleep(fault.duration)
            t = time.monotonic()
            await asyncio.to_thread(stack.kafka_up)
            return f"stopped in {took:.1f} s, listening again in {time.monotonic() - t:.1f} s"
        if fault.kind == "db_stall":
            pids = stack.postgres_stall()
            try:
                await asyncio.sleep(fault.duration)
            finally:
                stack.postgres_resume(pids)
            return f"{len(pids)} processes stopped, resumed"
        if fault.kind == "provider_500":
            await self._faults(http, fault.target, {"burst_500": fault.size})
            return "armed"
        if fault.kind == "provider_429":
            await self._faults(http, fault.target, {"rate_limit": fault.size, "retry_after_s": 1})
            return "armed"
        if fault.kind == "provider_timeout":
            await self._faults(http, fault.target, {"timeout_rate": 0.4, "timeout_s": 3.0,
                                                    "timeout_after_effect": True})
            await asyncio.sleep(fault.duration)
            await self._faults(http, fault.target, {"timeout_rate": 0.0,
                                                    "timeout_after_effect": False})
            return "lifted"
        if fault.kind == "provider_slow":
            # Some calls outlast the client's timeout and are carried out later; others,
            # a lookup among them, answer in time.
            await self._faults(http, fault.target, {"latency_ms": float(fault.size),
                                                    "latency_jitter_ms": fault.size * 0.6})
            await asyncio.sleep(fault.duration)
            await self._faults(http, fault.target, {"latency_ms": 0.0, "latency_jitter_ms": 0.0})
            return "lifted"
        if fault.kind == "provider_reject":
            await self._faults(http, fault.target, {"reject_all": "chaos: rejected on purpose",
                                                    "reject_status": 422})
            await asyncio.sleep(fault.duration)
            await self._faults(http, fault.target, {"reject_all": None})
            return "lifted"
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    async def _faults(self, http: aiohttp.ClientSession, sim: str, changes: dict[str, Any]) -> None:
        async with http.post(f"{self.stack.sim_url}/_sim/faults", json={sim: changes}) as resp:
            if resp.status != 200:
                raise RuntimeError(f"POST /_sim/faults {changes}: {resp.status} {await resp.text()}")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.fault.kind] = out.get(r.fault.kind, 0) + 1
        return out
